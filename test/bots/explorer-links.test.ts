/**
 * Every message kind that names a transaction, a proposal, a validator or an account links it to
 * the chain's explorer (here Cosmos Hub's, from its chain-registry file), in Slack and Telegram.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../bots/model.js';
import { renderSlack } from '../../bots/slack/blocks.js';
import { renderTelegram } from '../../bots/telegram/html.js';
import { alertLinks, renderAlertGroup } from '../../commander/alerting/messages.js';
import { renderUnjail } from '../../commander/app/unjail.js';
import { explorerOf, templatesOf } from '../../commander/domain/explorer.js';
import { proposalMessage } from '../../commander/governance/messages.js';
import { DEFAULT_POLICY } from '../../commander/governance/settings.js';
import type { TrackedProposal } from '../../commander/governance/state.js';
import { parseChainRegistry } from '../../protocol/chain-registry.js';
import { AlertingRun, CHAIN, T0, VALIDATOR, fleetNode } from '../commander/alerting/kit.js';

const registry = new URL('../fixtures/chain-registry/cosmoshub.json', import.meta.url);
const hub = parseChainRegistry(readFileSync(registry, 'utf8'), registry.pathname);
const explorers = { [CHAIN]: templatesOf(hub) };
const pages = explorerOf(explorers, CHAIN);
const TX = 'AB'.repeat(32);
const VALOPER = 'cosmosvaloper1sjllsnramtg3ewxqwwrwjxfgc4n4ef9u2lcnj0';

/** The links as each platform shows them: Slack's links section, Telegram's anchors line. */
function rendered(message: ChatMessage) {
  const slack = renderSlack(message).blocks.find(
    (b) => b.type === 'section' && JSON.stringify(b).includes('mintscan'),
  );
  const telegram = renderTelegram(message)
    .text.split('\n\n')
    .find((part) => part.startsWith('<a href='));
  return { slack: (slack as { text?: { text: string } } | undefined)?.text?.text, telegram };
}

describe('explorer links in Slack and Telegram', () => {
  it('a proposal with our vote: the proposal and the vote transaction', () => {
    const proposal: TrackedProposal = {
      id: '977',
      title: 'Raise the block size',
      summary: 'Twice the gas.',
      votingStart: T0,
      votingEnd: T0 + 86_400_000,
      announcedAt: T0,
      ourVote: 'yes',
      remindersSent: [],
      intents: [
        {
          option: 'yes',
          by: 'console:op',
          at: T0,
          auto: false,
          actionId: 'gov-1',
          nodeId: 'val-a',
          status: 'done',
          txHash: TX,
        },
      ],
      autoVote: { warnedAt: null, heldBy: null, heldAt: null, castAt: null, waiting: null },
      endedAt: null,
    };
    const { message } = proposalMessage(CHAIN, proposal, { ...DEFAULT_POLICY, explorer: pages }, T0);
    expect(rendered(message)).toMatchInlineSnapshot(`
      {
        "slack": "<https://www.mintscan.io/cosmos/proposals/977|proposal> · <https://www.mintscan.io/cosmos/txs/ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB|transaction>",
        "telegram": "<a href="https://www.mintscan.io/cosmos/proposals/977">proposal</a> · <a href="https://www.mintscan.io/cosmos/txs/ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB">transaction</a>",
      }
    `);
  });

  it('an unjail: the transaction and the validator', () => {
    const message = renderUnjail(
      {
        chainId: CHAIN,
        validator: VALIDATOR,
        id: 'unjail-1',
        node: 'val-a',
        requestedBy: 'console:op',
        at: T0,
        status: 'done',
        txHash: TX,
        height: 120,
        message: null,
        finishedAt: T0 + 6_000,
      },
      pages,
      VALOPER,
    );
    expect(rendered(message)).toMatchInlineSnapshot(`
      {
        "slack": "<https://www.mintscan.io/cosmos/txs/ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB|transaction> · <https://www.mintscan.io/cosmos/validators/cosmosvaloper1sjllsnramtg3ewxqwwrwjxfgc4n4ef9u2lcnj0|validator>",
        "telegram": "<a href="https://www.mintscan.io/cosmos/txs/ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB">transaction</a> · <a href="https://www.mintscan.io/cosmos/validators/cosmosvaloper1sjllsnramtg3ewxqwwrwjxfgc4n4ef9u2lcnj0">validator</a>",
      }
    `);
  });

  it('a jailed validator’s alert: the validator, by the operator address its nodes report', () => {
    const node = fleetNode('val-a', 'validator', T0);
    const chain = node.lastReport!.chain!;
    const jailed = {
      ...node,
      lastReport: {
        ...node.lastReport!,
        chain: { ...chain, operatorAddress: VALOPER, validator: { ...chain.validator!, jailed: true } },
      },
    };
    const run = new AlertingRun();
    run.explorers = explorers;
    const out = run.tick([jailed], T0);
    const posted = out.chat.find((c) => c.message.title.includes('jailed'))!;
    expect(posted.actions.map((a) => a.label)).toContain('Unjail');
    expect(rendered(posted.message)).toMatchInlineSnapshot(`
      {
        "slack": "<https://www.mintscan.io/cosmos/validators/cosmosvaloper1sjllsnramtg3ewxqwwrwjxfgc4n4ef9u2lcnj0|validator>",
        "telegram": "<a href="https://www.mintscan.io/cosmos/validators/cosmosvaloper1sjllsnramtg3ewxqwwrwjxfgc4n4ef9u2lcnj0">validator</a>",
      }
    `);
    // The same links when the group is edited later (acknowledged, muted).
    const members = [...run.alerts.values()];
    expect(renderAlertGroup('g', members, T0, alertLinks(members, [jailed], explorers)).links).toEqual(
      posted.message.links,
    );
  });
});
