/** The message texts the walkthrough showed wrong, said right. */
import { describe, expect, it } from 'vitest';
import { opMessage } from '../../../commander/failover/effects.js';
import { decideFailover } from '../../../commander/failover/machine.js';
import { type FailoverOp, initialFailoverState } from '../../../commander/failover/state.js';
import { GovernanceSettings, resolvePolicy } from '../../../commander/governance/settings.js';
import { proposalMessage } from '../../../commander/governance/messages.js';
import type { TrackedProposal } from '../../../commander/governance/state.js';
import { Sim, T0 } from '../failover/sim.js';

describe('facts carry their age, and stale facts start nothing', () => {
  it('never calls a dead node a stray from its last report; a fresh one says how old its facts are', () => {
    const sim = new Sim(['val-a', 'val-b']);
    sim.run(10_000);
    const a = sim.node('val-a');
    // val-a's machine dies holding the key: its last report says so, for ever.
    a.pilotUp = false;
    a.daemonOk = false;
    a.running = false;
    sim.runUntil(() => sim.state.op?.phase === 'done', 60_000, 'the failover to finish');
    sim.run(60_000);
    const strays = sim.effects.filter((fx) => fx.type === 'alert' && fx.key.includes(':stray:'));
    expect(strays).toEqual([]);
    expect(sim.state.outbox.filter((e) => e.action.id.startsWith('fence-'))).toEqual([]);

    // A report within the silence limit but older than a report interval is used, with its age.
    const now = sim.now;
    const state = structuredClone(sim.state);
    state.nodes['val-a'] = {
      ...state.nodes['val-b']!,
      nodeId: 'val-a',
      lastReportAt: now - 2_400,
      custody: { holdsValidatorKey: true, highestEpoch: 1, fenced: false },
    };
    const out = decideFailover(state, { type: 'tick' }, now, sim.settings);
    const stray = out.effects.find((fx) => fx.type === 'alert' && fx.key.endsWith(':stray:val-a'));
    expect(stray).toMatchObject({
      text: expect.stringContaining('val-a reported holding the key (last seen 2 s ago)'),
    });
  });
});

describe('the first promotion', () => {
  it('waits for its target, not for a fence of nobody, and counts no genesis misses', () => {
    const state = initialFailoverState({ chainId: 'beam-devnet-1', validator: 'A'.repeat(40) });
    const op: FailoverOp = {
      id: 'fo-e1-1',
      kind: 'failover',
      from: null,
      to: 'val-a',
      toChosen: true,
      epoch: 1,
      phase: 'fencing-wait',
      startedAt: T0,
      phaseAt: { detected: T0, 'fencing-wait': T0 },
      demoteActionId: null,
      promoteActionId: null,
      demoteResult: null,
      missedAtStart: 40,
      lastSignedHeight: null,
      minHeight: null,
      missedBlocks: null,
      reason: 'failover requested by cli:local-stack',
      requestedBy: 'cli:local-stack',
      confirmedBy: null,
      declinedBy: null,
      abortReason: null,
    };
    const message = opMessage(state, op, null);
    expect(message.title).toBe('Failover: waiting until val-a is ready to sign');
    expect(message.text).toContain('No node held the lease');
    expect(JSON.stringify(message)).not.toMatch(/null|1970/);
    expect(message.fields?.map((f) => f.label)).not.toContain('Missed blocks');
  });
});

describe('a proposal we voted on', () => {
  it('stops announcing an auto-vote once our vote is in', () => {
    const policy = resolvePolicy(
      GovernanceSettings.parse({
        autoVote: { enabled: true, option: 'abstain', thresholdMs: 60_000, warnBeforeMs: 60_000 },
      }),
      'beam-devnet-1',
      {},
    );
    const p: TrackedProposal = {
      id: '1',
      title: 'Raise the block size',
      summary: '',
      votingStart: T0,
      votingEnd: T0 + 300_000,
      announcedAt: T0,
      remindersSent: [],
      ourVote: null,
      intents: [],
      autoVote: { warnedAt: null, heldBy: null, heldAt: null, castAt: null, waiting: null },
      endedAt: null,
    };
    const autoVote = (q: TrackedProposal) =>
      proposalMessage('beam-devnet-1', q, policy, T0).message.fields?.find((f) => f.label === 'Auto-vote')
        ?.value;
    expect(autoVote(p)).toMatch(/^Abstain at .* unless we vote$/);
    const voted: TrackedProposal = {
      ...p,
      intents: [
        {
          option: 'yes',
          by: 'console:operator',
          at: T0,
          auto: false,
          actionId: 'gov-1',
          nodeId: 'val-a',
          status: 'done',
          txHash: 'A'.repeat(64),
        },
      ],
    };
    expect(autoVote(voted)).toBe('not needed: we voted');
    expect(autoVote({ ...p, ourVote: 'no' })).toBe('not needed: we voted');
  });
});
