// biome-ignore-all lint/suspicious/noTemplateCurlyInString: explorer templates hold literal ${…} slots
import { explorerPages } from '../../../commander/domain/explorer.js';
import { describe, expect, it } from 'vitest';
import type { ActionResult, ChainFacts, ProposalFact, Report } from '../../../protocol/index.js';
import { type NodeRecord, summarizeReport } from '../../../commander/domain/registry.js';
import { sampleReport } from '../../fixtures/report.js';
import {
  type GovernanceEffect,
  type GovernanceEvent,
  type GovernanceFacts,
  type GovernanceState,
  GovernanceSettings,
  decideGovernance,
  governanceFacts,
  initialGovernanceState,
  parsePolicyChange,
  reportedKeyHolder,
  resolvePolicy,
} from '../../../commander/governance/index.js';

const H = 3_600_000;
const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const CHAIN = 'beam-devnet-1';
const GRANTS = [
  '/cosmos.gov.v1.MsgVote',
  '/cosmos.staking.v1beta1.MsgDelegate',
  '/cosmos.distribution.v1beta1.MsgWithdrawDelegatorReward',
  '/cosmos.distribution.v1beta1.MsgWithdrawValidatorCommission',
].map((msgTypeUrl) => ({ msgTypeUrl, expiresAt: null }));

function proposal(overrides: Partial<ProposalFact> = {}): ProposalFact {
  return {
    id: '7',
    title: 'Raise the block size',
    summary: 'Doubles max_bytes.',
    status: 'voting',
    votingStart: T0,
    votingEnd: T0 + 72 * H,
    ourVote: null,
    ...overrides,
  };
}

function chain(overrides: Partial<ChainFacts> = {}): ChainFacts {
  return {
    validatorAddress: 'A'.repeat(40),
    operatorAddress: 'cosmosvaloper1xyz',
    recentCommits: [],
    signingInfo: null,
    validator: null,
    networkSignedShare: 1,
    balances: [{ denom: 'stake', amount: '1000' }],
    rewards: [],
    commission: [],
    proposals: [proposal()],
    grants: GRANTS,
    errors: [],
    ...overrides,
  };
}

function facts(c: ChainFacts | null = chain(), overrides: Partial<GovernanceFacts> = {}): GovernanceFacts {
  return {
    chainId: CHAIN,
    activeNode: 'val-a',
    chain: c,
    reportSentAt: T0,
    fresh: true,
    results: [],
    ...overrides,
  };
}

const settings = (input: Record<string, unknown> = {}) => GovernanceSettings.parse(input);
const EXPLORER = explorerPages(undefined, {
  proposal: 'https://explorer.example/proposals/${proposalId}',
  tx: 'https://explorer.example/tx/${txHash}',
  validator: 'https://explorer.example/validators/${validatorAddress}',
});

function run(
  state: GovernanceState,
  event: GovernanceEvent,
  now: number,
  f: GovernanceFacts = facts(),
  s = settings(),
) {
  return decideGovernance(state, event, now, { settings: s, facts: f, explorer: EXPLORER });
}

const tick = { kind: 'tick' } as const;
const fresh = () => initialGovernanceState(CHAIN, 'salt');
const chats = (effects: GovernanceEffect[]) =>
  effects.filter((e): e is Extract<GovernanceEffect, { kind: 'post' | 'update' }> => e.kind !== 'queue');
const queued = (effects: GovernanceEffect[]) =>
  effects.filter((e): e is Extract<GovernanceEffect, { kind: 'queue' }> => e.kind === 'queue');
const ok = (id: string, extra: Partial<ActionResult> = {}): ActionResult => ({
  id,
  type: 'vote',
  ok: true,
  finishedAt: T0,
  txHash: 'AB'.repeat(32),
  height: 42,
  message: 'tx committed',
  ...extra,
});

describe('proposal messages', () => {
  it('announces a new proposal once, with deadline, vote status, explorer link and four vote buttons', () => {
    const first = run(fresh(), tick, T0);
    expect(chats(first.effects)).toHaveLength(1);
    const [post] = chats(first.effects);
    expect(post).toMatchObject({ kind: 'post', subject: 'proposal:7' });
    expect(post!.message.title).toBe('Proposal #7: Raise the block size');
    expect(post!.message.text).toBe('Doubles max_bytes.');
    expect(post!.message.fields).toEqual(
      expect.arrayContaining([
        { label: 'Voting ends', value: '2026-01-08T12:00:00Z (in 3 d)' },
        { label: 'Our vote', value: 'not voted' },
      ]),
    );
    expect(post!.message.links).toEqual([{ url: 'https://explorer.example/proposals/7', label: 'proposal' }]);
    expect(post!.actions?.map((a) => a.command)).toEqual([
      'vote 7 yes',
      'vote 7 no',
      'vote 7 abstain',
      'vote 7 no_with_veto',
    ]);
    const again = run(first.state, tick, T0 + 60_000);
    expect(again.effects).toEqual([]);
  });

  it('reminds at the configured offsets while we have not voted, and not once we have', () => {
    const s = settings({ reminderOffsetsMs: [24 * H, 2 * H] });
    let state = run(fresh(), tick, T0, facts(), s).state;
    expect(chats(run(state, tick, T0 + 47 * H, facts(), s).effects)).toEqual([]);
    const due = run(state, tick, T0 + 48 * H, facts(), s);
    expect(chats(due.effects)).toEqual([expect.objectContaining({ kind: 'post', subject: 'proposal:7' })]);
    expect(chats(due.effects)[0]!.message.context).toContain('Reminder: voting ends in 24 h');
    state = due.state;
    const voted = facts(chain({ proposals: [proposal({ ourVote: 'yes' })] }));
    const late = run(state, tick, T0 + 70 * H, voted, s);
    expect(late.effects.filter((e) => e.kind === 'post')).toEqual([]);
    expect(late.state.proposals['7']!.remindersSent).toEqual([24 * H, 2 * H]);
  });

  it('marks the end of voting by updating the message without buttons', () => {
    const state = run(fresh(), tick, T0).state;
    const ended = run(state, tick, T0 + 72 * H, facts(chain({ proposals: [] })));
    expect(chats(ended.effects)).toEqual([
      expect.objectContaining({ kind: 'update', subject: 'proposal:7' }),
    ]);
    expect(chats(ended.effects)[0]!.message.title).toBe('Voting ended: Proposal #7: Raise the block size');
    expect(chats(ended.effects)[0]!.actions).toBeUndefined();
    expect(ended.state.proposals['7']!.endedAt).toBe(T0 + 72 * H);
  });
});

describe('votes', () => {
  it('queues a vote to the active validator, then shows the tx hash from its result', () => {
    const state = run(fresh(), tick, T0).state;
    const voted = run(
      state,
      { kind: 'vote', proposalId: '7', option: 'no', memo: 'too big', by: 'slack:U1 (alice)' },
      T0 + 1000,
    );
    expect(voted.answer).toMatchObject({ accepted: true });
    const [q] = queued(voted.effects);
    expect(q).toMatchObject({
      nodeId: 'val-a',
      action: { type: 'vote', proposalId: '7', option: 'no', memo: 'too big' },
    });
    expect(chats(voted.effects)[0]!.message.fields).toContainEqual({
      label: 'Vote',
      value: 'No (slack:U1 (alice)): sent to val-a, waiting for the tx',
    });
    const settled = run(voted.state, tick, T0 + 5000, facts(chain(), { results: [ok(q!.action.id)] }));
    const card = chats(settled.effects).find((e) => e.subject === 'proposal:7')!;
    expect(card.kind).toBe('update');
    expect(card.message.fields).toContainEqual({
      label: 'Vote',
      value: `No (slack:U1 (alice)): tx ${'AB'.repeat(32)} at height 42`,
    });
    // The proposal's page and the vote's transaction.
    expect(card.message.links).toEqual([
      { url: 'https://explorer.example/proposals/7', label: 'proposal' },
      { url: `https://explorer.example/tx/${'AB'.repeat(32)}`, label: 'transaction' },
    ]);
    expect(settled.state.proposals['7']!.ourVote).toBe('no');
    // A lagging read that still says "not voted" does not undo a committed vote.
    expect(run(settled.state, tick, T0 + 6000).state.proposals['7']!.ourVote).toBe('no');
    // A changed vote before the end is allowed.
    const changed = run(settled.state, { kind: 'vote', proposalId: '7', option: 'yes', by: 'x' }, T0 + 7000);
    expect(changed.answer?.summary).toMatch(/^changing our vote to Yes/);
    expect(queued(changed.effects)).toHaveLength(1);
    expect(queued(changed.effects)[0]!.action.id).not.toBe(q!.action.id);
  });

  it('refuses votes it cannot carry out, and reports failed and lost votes', () => {
    const state = run(fresh(), tick, T0).state;
    const vote = (id: string, f = facts(), now = T0) =>
      run(state, { kind: 'vote', proposalId: id, option: 'yes', by: 'x' }, now, f);
    expect(vote('8').answer).toMatchObject({
      accepted: false,
      summary: expect.stringContaining('not in voting'),
    });
    expect(vote('7', facts(chain(), { activeNode: null })).answer).toMatchObject({ accepted: false });
    expect(vote('7', facts(), T0 + 73 * H).answer).toMatchObject({
      summary: 'voting on proposal 7 has ended',
    });

    const queuedVote = vote('7');
    const id = queued(queuedVote.effects)[0]!.action.id;
    const failed = run(
      queuedVote.state,
      tick,
      T0 + 5000,
      facts(chain(), {
        results: [ok(id, { ok: false, txHash: undefined, message: 'authorization not found' })],
      }),
    );
    const notice = chats(failed.effects).find((e) => e.subject.startsWith('vote-failed:'))!;
    expect(notice.message.text).toContain('run `beam-pilot grants`');
    expect(failed.state.proposals['7']!.intents[0]!.status).toBe('failed');

    const lost = run(queuedVote.state, tick, T0 + 11 * 60_000);
    expect(lost.state.proposals['7']!.intents[0]).toMatchObject({
      status: 'failed',
      message: 'no result from val-a within 10 min',
    });
  });
});

describe('auto-vote', () => {
  const s = settings({
    reminderOffsetsMs: [],
    autoVote: { enabled: true, option: 'no', thresholdMs: 6 * H, warnBeforeMs: H },
  });
  const castAt = T0 + 66 * H;

  it('warns with a Hold button an hour before, casts at the threshold and not before', () => {
    let state = run(fresh(), tick, T0, facts(), s).state;
    expect(chats(run(state, tick, castAt - H - 1, facts(), s).effects)).toEqual([]);
    const warned = run(state, tick, castAt - H, facts(), s);
    const warning = chats(warned.effects).find((e) => e.subject === `autovote:${CHAIN}:7`)!;
    expect(warning.kind).toBe('post');
    expect(warning.message.text).toMatch(/^Auto-vote No in 60 min/);
    expect(warning.actions).toEqual([{ label: 'Hold', command: 'hold 7', style: 'danger' }]);
    state = warned.state;
    expect(queued(run(state, tick, castAt - 1, facts(), s).effects)).toEqual([]);
    const cast = run(state, tick, castAt, facts(), s);
    expect(queued(cast.effects)).toEqual([
      expect.objectContaining({
        nodeId: 'val-a',
        action: expect.objectContaining({ type: 'vote', option: 'no' }),
      }),
    ]);
    expect(cast.state.proposals['7']!.autoVote.castAt).toBe(castAt);
    expect(queued(run(cast.state, tick, castAt + 1000, facts(), s).effects)).toEqual([]);
  });

  it('never casts when reading our vote failed, when someone voted, or when held', () => {
    const state = run(fresh(), tick, T0, facts(), s).state;
    const unreadable = facts(chain({ proposals: [proposal({ ourVote: undefined })] }));
    const waiting = run(state, tick, castAt, unreadable, s);
    expect(queued(waiting.effects)).toEqual([]);
    expect(chats(waiting.effects).find((e) => e.subject === `autovote:${CHAIN}:7`)!.message.text).toContain(
      'our vote could not be read',
    );
    // Chain queries failed altogether: the proposal is missing from the report, its old read is stale.
    expect(queued(run(state, tick, castAt, facts(chain({ proposals: [] })), s).effects)).toEqual([]);
    expect(queued(run(state, tick, castAt, facts(chain(), { fresh: false }), s).effects)).toEqual([]);

    const votedOnChain = facts(chain({ proposals: [proposal({ ourVote: 'abstain' })] }));
    expect(queued(run(state, tick, castAt, votedOnChain, s).effects)).toEqual([]);

    const manual = run(state, { kind: 'vote', proposalId: '7', option: 'yes', by: 'x' }, T0 + H, facts(), s);
    expect(queued(run(manual.state, tick, castAt, facts(), s).effects)).toEqual([]);

    const held = run(state, { kind: 'hold', proposalId: '7', by: 'slack:U2' }, T0 + H, facts(), s);
    expect(held.answer).toMatchObject({ accepted: true });
    expect(queued(run(held.state, tick, castAt, facts(), s).effects)).toEqual([]);
  });
});

describe('auto-bond and grants', () => {
  const s = settings({
    autoBond: { enabled: true, threshold: '5000', feeReserve: '1000', withdrawEveryMs: 24 * H },
  });
  const rich = (extra: Partial<ChainFacts> = {}) =>
    chain({ proposals: [], balances: [{ denom: 'stake', amount: '9000' }], ...extra });

  it('withdraws when due, then delegates all but the reserve on a report newer than the withdrawal', () => {
    const withRewards = rich({ rewards: [{ denom: 'stake', amount: '300' }] });
    const w = run(fresh(), tick, T0, facts(withRewards), s);
    expect(queued(w.effects)).toEqual([
      expect.objectContaining({
        action: expect.objectContaining({ type: 'withdraw-rewards', commission: false }),
      }),
    ]);
    const wid = queued(w.effects)[0]!.action.id;
    const done = run(
      w.state,
      tick,
      T0 + 5000,
      facts(withRewards, { results: [ok(wid, { finishedAt: T0 + 4000 })] }),
      s,
    );
    expect(queued(done.effects)).toEqual([]);
    // The report that carried the result predates it: wait for one that shows the new balance.
    const stale = run(done.state, tick, T0 + 6000, facts(rich(), { reportSentAt: T0 + 3000 }), s);
    expect(queued(stale.effects)).toEqual([]);
    const bond = run(
      done.state,
      tick,
      T0 + 7000,
      facts(rich({ balances: [{ denom: 'stake', amount: '9300' }] }), { reportSentAt: T0 + 6500 }),
      s,
    );
    expect(queued(bond.effects)).toEqual([
      expect.objectContaining({
        nodeId: 'val-a',
        action: expect.objectContaining({ type: 'delegate', amount: { denom: 'stake', amount: '8300' } }),
      }),
    ]);
    const post = chats(bond.effects)[0]!;
    expect(post.message.title).toBe('Delegating 8300stake to cosmosvaloper1xyz…');
    expect(post.message.links).toEqual([
      { url: 'https://explorer.example/validators/cosmosvaloper1xyz', label: 'validator' },
    ]);
  });

  it('stays below the threshold, and does not queue a delegation the missing grant would fail', () => {
    const noWithdraw = settings({
      autoBond: { enabled: true, threshold: '5000', feeReserve: '1000', withdraw: false },
    });
    expect(
      queued(
        run(fresh(), tick, T0, facts(rich({ balances: [{ denom: 'stake', amount: '5000' }] })), noWithdraw)
          .effects,
      ),
    ).toEqual([]);
    const missing = rich({ grants: GRANTS.filter((g) => !g.msgTypeUrl.includes('MsgDelegate')) });
    const out = run(fresh(), tick, T0, facts(missing), noWithdraw);
    expect(queued(out.effects)).toEqual([]);
    const alert = chats(out.effects).find((e) => e.subject === `gov-grants:${CHAIN}`)!;
    expect(alert).toMatchObject({ kind: 'post', message: { severity: 'warning' } });
    expect(alert.message.text).toContain('missing grant for auto-bond: /cosmos.staking.v1beta1.MsgDelegate');
    expect(alert.message.text).toContain('beam-pilot grants');
    expect(
      run(out.state, { kind: 'bond-now', by: 'x' }, T0, facts(missing), noWithdraw).answer,
    ).toMatchObject({
      accepted: false,
      summary: expect.stringContaining('no delegate grant'),
    });
    // Told once; resolved in place when the grant is back.
    expect(chats(run(out.state, tick, T0 + 1000, facts(missing), noWithdraw).effects)).toEqual([]);
    const fixed = run(out.state, tick, T0 + 2000, facts(rich()), noWithdraw);
    expect(chats(fixed.effects)).toContainEqual(
      expect.objectContaining({
        kind: 'update',
        subject: `gov-grants:${CHAIN}`,
        message: expect.objectContaining({ severity: 'ok' }),
      }),
    );
  });

  it('alerts on an expired or expiring vote grant and on a pilot without a hot key; an unreadable grant list is no alert', () => {
    const expired = chain({ grants: [{ msgTypeUrl: '/cosmos.gov.v1.MsgVote', expiresAt: T0 - 1 }] });
    expect(
      chats(run(fresh(), tick, T0, facts(expired)).effects).find((e) => e.subject.startsWith('gov-grants'))!
        .message.text,
    ).toContain('expired grant for votes');
    const soon = chain({ grants: [{ msgTypeUrl: '/cosmos.gov.v1.MsgVote', expiresAt: T0 + H }] });
    expect(
      chats(run(fresh(), tick, T0, facts(soon)).effects).find((e) => e.subject.startsWith('gov-grants'))!
        .message.text,
    ).toContain('grant for votes expires 2026-01-05T13:00:00.000Z');
    const noHotKey = chain({ grants: null });
    expect(
      chats(run(fresh(), tick, T0, facts(noHotKey)).effects).find((e) => e.subject.startsWith('gov-grants'))!
        .message.text,
    ).toContain('no hot key');
    // A chain without gov v1 gets v1beta1 votes: that grant is the one needed.
    const legacy = (msgTypeUrl: string) =>
      chain({
        grants: [{ msgTypeUrl, expiresAt: null }],
        errors: ['gov v1 unavailable (unknown service), used v1beta1'],
      });
    const gotLegacy = run(fresh(), tick, T0, facts(legacy('/cosmos.gov.v1beta1.MsgVote')));
    expect(chats(gotLegacy.effects).filter((e) => e.subject.startsWith('gov-grants'))).toEqual([]);
    const gotV1Only = run(fresh(), tick, T0, facts(legacy('/cosmos.gov.v1.MsgVote')));
    expect(chats(gotV1Only.effects).find((e) => e.subject.startsWith('gov-grants'))!.message.text).toContain(
      'missing grant for votes: /cosmos.gov.v1beta1.MsgVote',
    );
    const unreadable = chain({ grants: null, errors: ['authz grants: timeout'] });
    expect(
      chats(run(fresh(), tick, T0, facts(unreadable)).effects).filter((e) =>
        e.subject.startsWith('gov-grants'),
      ),
    ).toEqual([]);
  });
});

describe('policy', () => {
  it('parses chat changes, refuses bad ones by key, and layers defaults, settings, chain and chat changes', () => {
    expect(parsePolicyChange('autoVote.thresholdHours', '0.5')).toEqual({
      autoVote: { thresholdMs: 1_800_000 },
    });
    expect(parsePolicyChange('autoVote.thresholdHours', '30s')).toEqual({
      autoVote: { thresholdMs: 30_000 },
    });
    expect(parsePolicyChange('autoVote.option', 'maybe')).toMatch(/^autoVote.option: use yes/);
    expect(parsePolicyChange('autoBond.threshold', '-1')).toMatch(/^autoBond.threshold: use a whole amount/);
    expect(parsePolicyChange('nope', '1')).toMatch(/^unknown policy key nope/);
    const s = settings({ autoVote: { option: 'yes' }, chains: { [CHAIN]: { autoVote: { enabled: true } } } });
    const p = resolvePolicy(s, CHAIN, { autoVote: { thresholdMs: 1000 } });
    expect(p.autoVote).toEqual({ enabled: true, option: 'yes', thresholdMs: 1000, warnBeforeMs: H });
    expect(resolvePolicy(s, 'other-1').autoVote.enabled).toBe(false);
    const changed = run(
      fresh(),
      { kind: 'set-policy', change: { autoVote: { enabled: true } }, by: 'x' },
      T0,
    );
    expect(changed.state.overrides).toEqual({ autoVote: { enabled: true } });
  });
});

describe('facts', () => {
  const node = (
    id: string,
    overrides: Partial<NodeRecord> = {},
    report: Partial<Report> = {},
  ): NodeRecord => {
    const base = sampleReport({ nodeId: id, chain: chain(), ...report });
    return {
      id,
      chainId: CHAIN,
      role: 'validator',
      status: 'approved',
      claimHash: '',
      cometNodeId: null,
      p2pAddress: null,
      instanceId: null,
      pilotVersion: '0.1.0',
      enrolledAt: T0,
      decidedAt: T0,
      decidedBy: null,
      lastSeq: 1,
      lastSeen: T0,
      reportCount: 1,
      lastReport: summarizeReport(base),
      actions: [],
      recentResults: [],
      desiredConfig: null,
      ...overrides,
    };
  };
  const custody = (holds: boolean) => ({
    custody: {
      mode: 'file' as const,
      signMark: null,
      signerConnected: null,
      holdsValidatorKey: holds,
      highestEpoch: 1,
      leaseExpiresAt: null,
      fenced: false,
    },
  });

  it('takes the holder from the lease, or the only node reporting the key', () => {
    const a = node('val-a', {}, custody(true));
    const b = node('val-b', {}, custody(false));
    expect(reportedKeyHolder([a, b], CHAIN)).toBe('val-a');
    expect(reportedKeyHolder([a, node('val-c', {}, custody(true))], CHAIN)).toBeNull();
    expect(reportedKeyHolder([a], 'other-1')).toBeNull();
    const f = governanceFacts([a, b], CHAIN, 'val-b', T0 + 1000, 15_000);
    expect(f).toMatchObject({ activeNode: 'val-b', fresh: true });
    expect(governanceFacts([a, b], CHAIN, 'val-a', T0 + 16_000, 15_000).fresh).toBe(false);
  });

  it('counts chain facts read without the daemon RPC as unknown, not as "no proposals, no grants"', () => {
    const down = node('val-a', {}, { daemon: { ...sampleReport().daemon, rpcReachable: false } });
    const f = governanceFacts([down], CHAIN, 'val-a', T0, 15_000);
    expect(f.chain).toBeNull();
    const out = run(fresh(), tick, T0, f);
    expect(out.effects).toEqual([]);
  });
});
