/**
 * A small fleet reporting to a commander on dynalite: two validator nodes of one validator (val-a
 * holds the key, so it takes the lease) and a sentry, each report signed and sent through the pilot
 * API; chat through the commander's own chatops, as the console's users.
 */
import type { ChatInput, ChatReply, MessageRef } from '../../bots/model.js';
import { createChatOps } from '../../commander/app/chatops-factory.js';
import type { CommanderSettingsInput } from '../../commander/settings.js';
import type { ChainFacts, DaemonFacts, Report } from '../../protocol/index.js';
import { sampleReport } from '../fixtures/report.js';
import { type TestCommander, enrollApproved, enrollRequest, makeCommander, sendReport } from './helpers.js';

export const VALIDATOR = 'C'.repeat(40);
export const VALOPER = 'cosmosvaloper1qqqsyqcyq5rqwzqfpg9scrgwpugpzysn2xrd3v';
export const NODES = ['val-a', 'val-b', 'sentry-a'] as const;
export type NodeName = (typeof NODES)[number];
/** Console users: `op` operates, `admin` administers, `look` only looks. Beam posts to chat `ops`. */
export const ACCESS: CommanderSettingsInput['access'] = {
  console: { users: { op: 'operator', op2: 'operator', admin: 'admin', look: 'viewer' }, chats: ['ops'] },
};

export interface ReportOver extends Partial<Omit<Report, 'daemon' | 'chain'>> {
  daemon?: Partial<DaemonFacts>;
  chain?: Partial<ChainFacts>;
}

export class TestFleet {
  readonly secrets = new Map<string, string>();
  readonly seqs = new Map<string, number>();
  readonly chatops;
  /** The chain's height: each report is at it (a test moves it). */
  height = 500;

  private constructor(readonly c: TestCommander) {
    this.chatops = createChatOps(c.deps);
  }

  static async start(
    endpoint: string,
    settings: Parameters<typeof makeCommander>[1] = {},
  ): Promise<TestFleet> {
    const fleet = new TestFleet(await makeCommander(endpoint, { access: ACCESS, ...settings }));
    for (const [i, name] of NODES.entries()) {
      const role = name.startsWith('val-') ? 'validator' : 'sentry';
      const request = enrollRequest({ name, role, cometNodeId: String(i + 1).repeat(40) });
      fleet.secrets.set(name, await enrollApproved(fleet.c, request));
    }
    return fleet;
  }

  /** A healthy report of `name` now, with these facts changed. */
  async report(name: NodeName, over: ReportOver = {}) {
    const c = this.c;
    const seq = (this.seqs.get(name) ?? 0) + 1;
    this.seqs.set(name, seq);
    const validator = name.startsWith('val-');
    const base = sampleReport({
      nodeId: name,
      seq,
      sentAt: c.clock.now(),
      role: validator ? 'validator' : 'sentry',
    });
    const { daemon, chain, ...rest } = over;
    const report: Report = {
      ...base,
      daemon: {
        ...base.daemon,
        height: this.height,
        latestBlockTime: c.clock.now() - 1000,
        cometNodeId: null,
        consensusAddress: null,
        ...daemon,
      },
      chain: validator
        ? {
            validatorAddress: VALIDATOR,
            operatorAddress: VALOPER,
            recentCommits: [3, 2, 1].map((d) => ({
              height: this.height - d,
              signed: true,
              at: c.clock.now(),
            })),
            signingInfo: null,
            validator: { jailed: false, status: 'bonded', tokens: '1000' },
            networkSignedShare: 1,
            balances: [],
            rewards: [],
            commission: [],
            proposals: [],
            grants: [],
            errors: [],
            ...chain,
          }
        : null,
      custody: validator
        ? {
            mode: 'signer',
            holdsValidatorKey: name === 'val-a',
            highestEpoch: 0,
            leaseExpiresAt: null,
            fenced: false,
            signMark: null,
            signerConnected: null,
          }
        : null,
      ...rest,
    };
    const sent = await sendReport(c, this.secrets.get(name)!, report);
    if (sent.status !== 200) throw new Error(`report of ${name} refused: ${JSON.stringify(sent.body)}`);
    return sent.body;
  }

  async reportAll(over: Partial<Record<NodeName, ReportOver>> = {}) {
    for (const name of NODES) await this.report(name, over[name]);
  }

  /** What `user` sees answering `text` in the ops chat. */
  say(user: string, text: string): Promise<ChatReply[]> {
    return this.chatops.handle({
      kind: 'command',
      platform: 'console',
      chat: 'ops',
      user: { id: user },
      text,
    });
  }

  press(user: string, buttonId: string, message?: MessageRef): Promise<ChatReply[]> {
    const input: ChatInput = {
      kind: 'button',
      platform: 'console',
      chat: 'ops',
      user: { id: user },
      buttonId,
      ...(message ? { message } : {}),
    };
    return this.chatops.handle(input);
  }

  /** Shows a reply in the ops chat as an adapter does (so that later updates of its subject edit it). */
  async show(reply: ChatReply): Promise<MessageRef> {
    if (reply.replace) {
      await this.c.transport.update(reply.replace, reply.message);
      return reply.replace;
    }
    const ref = await this.c.transport.post('ops', reply.message);
    await reply.onPosted?.(ref);
    return ref;
  }

  /** Types a command that asks for a confirmation, and confirms it: its answer, shown in place of the question. */
  async confirm(user: string, text: string): Promise<{ answer: ChatReply; ref: MessageRef }> {
    const [question] = await this.say(user, text);
    const ok = question?.message.buttons?.find((b) => b.label === 'Confirm');
    if (!ok) throw new Error(`"${text}" asked no confirmation: ${question?.message.title}`);
    const ref = await this.show(question!);
    const [answer] = await this.press(user, ok.id, ref);
    await this.show(answer!);
    return { answer: answer!, ref };
  }

  /** Every message told in chat so far (posts and edits), newest last. */
  told() {
    return [...this.c.transport.posts, ...this.c.transport.updates];
  }
}
