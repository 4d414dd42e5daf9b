/** The message texts the walkthrough showed wrong, said right. */
import { NO_EXPLORER } from '../../../commander/domain/explorer.js';
import { describe, expect, it } from 'vitest';
import { renderMaintenanceAnswer } from '../../../commander/app/maintenance.js';
import { renderUnjail, settleUnjail } from '../../../commander/app/unjail.js';
import { chainUpgradeFindings } from '../../../commander/chain-upgrade/alerts.js';
import { opMessage } from '../../../commander/failover/effects.js';
import { decideFailover } from '../../../commander/failover/machine.js';
import { type FailoverOp, initialFailoverState } from '../../../commander/failover/state.js';
import { GovernanceSettings, resolvePolicy } from '../../../commander/governance/settings.js';
import { proposalMessage } from '../../../commander/governance/messages.js';
import type { TrackedProposal } from '../../../commander/governance/state.js';
import { ETA, facts, H, HOUR, MIN, PLAN, staged, Thread } from '../chain-upgrade/kit.js';
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

describe('chain upgrades, maintenance and unjail say no null, undefined, NaN or 1970', () => {
  const bad = /null|undefined|NaN|1970/;

  it('in every phase of the upgrade thread, its reminders and its warnings', () => {
    const never = (t: number) =>
      facts(t, {
        'val-a': { version: null, upgrade: null },
        'val-b': { upgrade: staged({ cosmovisor: false, staged: null }) },
        'sentry-a': { upgrade: staged({ staged: false }) },
      });
    const thread = new Thread();
    // Seen with no block time yet, then counted down to the halt.
    thread.tick(never(ETA - 25 * HOUR), ETA - 25 * HOUR);
    thread.run(ETA - MIN, 10 * MIN, never);
    const halted = { height: H - 1, upgrade: staged({ plan: null, staged: null, halted: PLAN }) };
    thread.tick(
      facts(ETA, { 'val-a': { ...halted, version: null }, 'val-b': halted, 'sentry-a': { fresh: false } }),
      ETA,
    );
    const findings = [...chainUpgradeFindings(thread.state)];
    // Past the settle time: a node on the new binary short of the height, a silent one, no signature.
    const lagging = {
      'val-a': { height: H + 2, version: 'v2.0.0', signedHeights: [] },
      'val-b': { height: H - 1, version: 'v2.0.1', upgrade: staged({ plan: null, staged: null }) },
      'sentry-a': { fresh: false },
    };
    thread.tick(facts(ETA + 2 * HOUR, lagging), ETA + 2 * HOUR);
    findings.push(...chainUpgradeFindings(thread.state));
    const through = { height: H + 2, signedHeights: [H + 1] };
    thread.tick(
      facts(ETA + 3 * HOUR, {
        'val-a': { ...through, version: 'v2.0.0' },
        'val-b': { ...through, version: 'v2.0.1' },
        'sentry-a': { ...through, version: 'v2.0.0', validator: null, signedHeights: [] },
      }),
      ETA + 3 * HOUR,
    );
    expect(thread.upgrade.phase).toBe('done');
    const phases = thread.effects.map((e) => e.message.title.replace(/ at height.*| \(.*|:.*/, ''));
    expect(new Set(phases).size).toBeGreaterThan(1);
    expect(thread.effects.at(-1)!.message.title).toBe(
      `Chain upgrade v2 done: every node runs v2.0.0 (sentry-a, val-a), v2.0.1 (val-b), signing again since height ${H + 1}`,
    );
    // Cancelled, as the other end.
    const cancelled = new Thread();
    const seen = ETA - 26 * HOUR;
    const gone = { upgrade: staged({ plan: null, staged: null }) };
    cancelled.tick(facts(seen), seen);
    cancelled.tick(facts(seen + MIN, { 'val-a': gone, 'val-b': gone, 'sentry-a': gone }), seen + MIN);
    cancelled.tick(facts(seen + HOUR, { 'val-a': gone, 'val-b': gone, 'sentry-a': gone }), seen + HOUR);
    expect(cancelled.upgrade.phase).toBe('cancelled');
    for (const e of [...thread.effects, ...cancelled.effects])
      expect(JSON.stringify(e.message)).not.toMatch(bad);
    expect(findings.length).toBeGreaterThan(2);
    for (const f of findings) expect(JSON.stringify(f)).not.toMatch(bad);
  });

  it('in maintenance answers and unjail outcomes', () => {
    const window = {
      until: T0 + HOUR,
      reason: '',
      by: 'console:op',
      at: T0,
      actionId: 'maint-val-a-1',
      told: false,
    };
    const result = { id: 'maint-val-a-1', type: 'maintenance', ok: true, finishedAt: T0 };
    const messages = [
      renderMaintenanceAnswer('val-a', window, result),
      renderMaintenanceAnswer('val-a', { ...window, until: null }, result),
      renderMaintenanceAnswer('val-a', window, { ...result, ok: false }),
      renderMaintenanceAnswer('val-a', { ...window, until: null }, { ...result, ok: false }),
    ];
    const request = {
      chainId: 'beam-devnet-1',
      validator: 'A'.repeat(40),
      id: 'unjail-1',
      node: 'val-a',
      requestedBy: 'console:op',
      at: T0,
      status: 'queued' as const,
      txHash: null,
      height: null,
      message: null,
      finishedAt: null,
    };
    const ok = settleUnjail(request, { id: 'unjail-1', type: 'unjail', ok: true, finishedAt: T0 }, T0 + MIN)!;
    const failed = settleUnjail(
      request,
      { id: 'unjail-1', type: 'unjail', ok: false, finishedAt: T0 },
      T0 + MIN,
    )!;
    messages.push(
      renderUnjail(ok, NO_EXPLORER, null),
      renderUnjail(failed, NO_EXPLORER, 'cosmosvaloper1xyz'),
      renderUnjail(settleUnjail(request, undefined, T0 + HOUR)!, NO_EXPLORER, null),
    );
    expect(messages.map((m) => m.title)).toEqual([
      'Maintenance of val-a: confirmed by its pilot',
      'Maintenance of val-a: ended',
      'Maintenance of val-a: its pilot refused',
      'Maintenance of val-a: its pilot refused',
      'Unjail of validator AAAAAAAA: done',
      'Unjail of validator AAAAAAAA: FAILED',
      'Unjail of validator AAAAAAAA: FAILED',
    ]);
    for (const m of messages) expect(JSON.stringify(m)).not.toMatch(bad);
  });
});
