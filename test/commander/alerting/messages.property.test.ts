/**
 * Property: no message Beam renders, of any kind, says `null`, `undefined`, `NaN` or a 1970 date,
 * whatever the (plausible) state it is rendered from: alert groups from random fleets, digests,
 * failover and sentry operations, proposals and bonds from random governance histories,
 * enrollments, and every chat rendering.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../../bots/model.js';
import type { ProposalFact, VoteOption } from '../../../protocol/index.js';
import { acknowledge, mute } from '../../../commander/alerting/alerts.js';
import { renderDigest } from '../../../commander/alerting/digest.js';
import { renderAlertGroup } from '../../../commander/alerting/messages.js';
import { newDigest } from '../../../commander/alerting/state.js';
import type { FleetStatus, NodeSummary } from '../../../commander/chatops/ports.js';
import * as render from '../../../commander/chatops/render.js';
import { renderEnrollment } from '../../../commander/domain/node-messages.js';
import type { NodeRecord } from '../../../commander/domain/registry.js';
import { opMessage as failoverMessage } from '../../../commander/failover/effects.js';
import { type FailoverOp, PHASES, initialFailoverState } from '../../../commander/failover/state.js';
import {
  GovernanceSettings,
  type GovernanceState,
  decideGovernance,
  initialGovernanceState,
} from '../../../commander/governance/index.js';
import { opMessage as sentryMessage } from '../../../commander/sentry/effects.js';
import type { SentryOp } from '../../../commander/sentry/state.js';
import { AlertingRun, CHAIN, T0, VALIDATOR, commits, fleetNode } from './kit.js';

const BAD = /\bnull\b|\bundefined\b|\bNaN\b|1970-01-01/;

function assertClean(message: ChatMessage): void {
  const shown = [
    message.title,
    message.text,
    message.context,
    message.preformatted,
    ...(message.links ?? []).flatMap((l) => [l.url, l.label]),
    ...(message.fields ?? []).flatMap((f) => [f.label, f.value]),
    ...(message.buttons ?? []).map((b) => b.label),
  ].filter((t): t is string => t !== undefined);
  for (const text of shown) expect(text, JSON.stringify(message)).not.toMatch(BAD);
}

const DAY = 86_400_000;
const time = fc.integer({ min: T0 - 30 * DAY, max: T0 + 30 * DAY });
const name = fc.constantFrom('val-a', 'val-b', 'sentry-1', 'sentry-2', 'sentry-4');
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });
const words = fc.constantFrom(
  'flooded for 3 reports',
  'requested by console:operator',
  'the lease moved',
  'timeout',
);
const option = fc.constantFrom<VoteOption>('yes', 'no', 'abstain', 'no_with_veto');
const runs = { numRuns: 150, seed: 20261207 };

describe('rendered messages never show null, undefined, NaN or 1970', () => {
  it('alert groups, from random fleets, acks and mutes', () => {
    const nodeFacts = fc.record({
      silent: fc.boolean(),
      running: fc.boolean(),
      rpcReachable: fc.boolean(),
      catchingUp: fc.constantFrom(true, false, null),
      peers: maybe(fc.integer({ min: 0, max: 5 })),
      height: maybe(fc.integer({ min: 1, max: 200 })),
      missedFrom: fc.integer({ min: 90, max: 120 }),
    });
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 1000, max: 120_000 }),
            fc.array(nodeFacts, { minLength: 5, maxLength: 5 }),
          ),
          {
            minLength: 1,
            maxLength: 12,
          },
        ),
        fc.boolean(),
        (ticks, twist) => {
          const run = new AlertingRun({
            pendingMs: { 'low-peers': 0, 'rpc-unreachable': 0, 'height-lag': 0 },
          });
          const ids = ['val-a', 'val-b', 'sentry-1', 'sentry-2', 'sentry-3'];
          let t = T0;
          run.tick(
            ids.map((id) => fleetNode(id, id.startsWith('val') ? 'validator' : 'sentry', t)),
            t,
          );
          for (const [dt, facts] of ticks) {
            t += dt;
            const nodes = ids.map((id, i) => {
              const f = facts[i]!;
              const role = id.startsWith('val') ? 'validator' : 'sentry';
              const { silent, missedFrom, ...daemon } = f;
              const n = fleetNode(id, role, t, daemon, commits(f.height ?? 100, 1, missedFrom));
              return silent ? { ...n, lastSeen: t - 60_000 } : n;
            });
            run.tick(nodes, t);
          }
          for (const chat of run.chat) assertClean(chat.message);
          // People's changes render too.
          const all = [...run.alerts.values()].map((a, i) =>
            twist && i % 2 === 0
              ? mute(acknowledge(a, 'console:operator', t), 'console:operator', t + 3_600_000)
              : a,
          );
          for (const group of new Set(all.map((a) => a.group).filter((g): g is string => g !== null)))
            assertClean(
              renderAlertGroup(
                group,
                all.filter((a) => a.group === group),
                t,
              ),
            );
        },
      ),
      { ...runs, numRuns: 60 },
    );
  });

  it('digests', () => {
    const progress = fc.record({
      since: time,
      signed: fc.nat(5000),
      missed: fc.nat(100),
      alerts: fc.nat(20),
      critical: fc.nat(5),
      actions: fc.dictionary(
        fc.constantFrom('failover', 'switchover', 'rotation failed', 'restart'),
        fc.nat(5),
      ),
    });
    const vote = fc.record({ proposalId: fc.constantFrom('1', '42'), option, auto: fc.boolean() });
    fc.assert(
      fc.property(progress, fc.array(vote, { maxLength: 3 }), (p, votes) => {
        assertClean(renderDigest(CHAIN, { ...newDigest(p.since, null), ...p }, votes, p.since + DAY));
      }),
      runs,
    );
  });

  it('failover operations in every phase', () => {
    const op = fc.record({
      kind: fc.constantFrom<FailoverOp['kind']>('failover', 'switchover'),
      from: maybe(name),
      to: name,
      phase: fc.constantFrom(...PHASES),
      startedAt: time,
      missedAtStart: fc.nat(50),
      lastSignedHeight: maybe(fc.integer({ min: 1, max: 10_000 })),
      missedBlocks: maybe(fc.nat(50)),
      confirmedBy: maybe(fc.constantFrom('console:operator', 'auto-approve')),
      abortReason: maybe(words),
      reason: words,
    });
    fc.assert(
      fc.property(op, maybe(time), time, (o, autoApproveAt, expiresAt) => {
        // A lease with a holder has an expiry; the one no node ever held does not.
        const state = initialFailoverState(
          { chainId: CHAIN, validator: VALIDATOR },
          o.from === null ? {} : { holder: o.from, epoch: 2, expiresAt, grantedAt: expiresAt - 13_000 },
        );
        const full: FailoverOp = {
          ...o,
          id: 'fo-e3-3',
          toChosen: false,
          epoch: 3,
          phaseAt: { detected: o.startedAt },
          demoteActionId: null,
          promoteActionId: null,
          demoteResult: null,
          minHeight: null,
          requestedBy: 'console:operator',
          declinedBy: null,
        };
        assertClean(failoverMessage(state, full, autoApproveAt));
      }),
      runs,
    );
  });

  it('sentry operations in every phase', () => {
    const base = {
      id: fc.constant('rot-sentry-1-1'),
      node: name,
      instanceId: fc.constant('i-0abc'),
      startedAt: time,
      phaseAt: time,
      requestedBy: fc.constantFrom('commander', 'console:operator'),
      reason: words,
      attempts: fc.nat(6),
      nextCloudAt: maybe(time),
      lastError: maybe(words),
      finishedAt: maybe(time),
      failure: maybe(words),
    };
    const rotation = fc.record({
      ...base,
      kind: fc.constant('rotation' as const),
      phase: fc.constantFrom('stopping', 'rotating', 'starting', 'done', 'failed' as const),
      previousAddress: maybe(fc.constant('198.51.100.7:26656')),
      newAddress: maybe(fc.constant('198.51.100.9:26656')),
      allocationId: maybe(fc.constant('eipalloc-1')),
      config: fc.constant(null),
      actionIds: fc.constant([]),
    });
    const replacement = fc.record({
      ...base,
      kind: fc.constant('replacement' as const),
      phase: fc.constantFrom('terminating', 'awaiting-replacement', 'done', 'failed' as const),
      terminatedAt: maybe(time),
      replacement: maybe(name),
    });
    fc.assert(
      fc.property(fc.oneof(rotation, replacement), (op) => assertClean(sentryMessage(op as SentryOp))),
      runs,
    );
  });

  it('proposals, votes, auto-votes, grants and bonds from random governance histories', () => {
    const proposal = fc.record({
      id: fc.constantFrom('1', '2'),
      title: fc.constantFrom('Raise the block size', ''),
      summary: fc.constantFrom('Doubles max_bytes.', ''),
      status: fc.constant('voting' as const),
      votingStart: maybe(time),
      votingEnd: maybe(fc.integer({ min: T0 - 3_600_000, max: T0 + 3 * 3_600_000 })),
      // Absent: the read of our vote failed.
      ourVote: fc.constantFrom<ProposalFact['ourVote']>(null, undefined, 'yes', 'abstain'),
    });
    const step = fc.record({
      dt: fc.integer({ min: 1000, max: 40 * 60_000 }),
      proposals: fc.array(proposal, { maxLength: 2 }),
      balance: fc.constantFrom('10', '5000000000'),
      fresh: fc.boolean(),
      chainRead: fc.boolean(),
      grants: fc.boolean(),
      vote: maybe(fc.tuple(fc.constantFrom('1', '2'), option)),
      hold: maybe(fc.constantFrom('1', '2')),
      bondNow: fc.boolean(),
      result: fc.constantFrom('ok', 'failed', 'none'),
    });
    const settings = GovernanceSettings.parse({
      reminderOffsetsMs: [3_600_000],
      autoVote: { enabled: true, option: 'abstain', thresholdMs: 3_600_000, warnBeforeMs: 3_600_000 },
      autoBond: {
        enabled: true,
        threshold: '1000',
        feeReserve: '10',
        withdraw: true,
        withdrawEveryMs: 3_600_000,
      },
    });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 15 }), (steps) => {
        let state: GovernanceState = initialGovernanceState(CHAIN, 'salt');
        let now = T0;
        const queued: string[] = [];
        for (const s of steps) {
          now += s.dt;
          const results =
            s.result === 'none'
              ? []
              : queued.map((id) => ({
                  id,
                  type: 'vote',
                  ok: s.result === 'ok',
                  finishedAt: now,
                  ...(s.result === 'ok'
                    ? { txHash: 'A'.repeat(64), height: 120 }
                    : { message: 'out of gas' }),
                }));
          const facts = {
            chainId: CHAIN,
            activeNode: 'val-a',
            reportSentAt: now,
            fresh: s.fresh,
            results,
            chain: s.chainRead
              ? {
                  validatorAddress: VALIDATOR,
                  operatorAddress: 'cosmosvaloper1xyz',
                  recentCommits: [],
                  signingInfo: null,
                  validator: null,
                  networkSignedShare: 1,
                  balances: [{ denom: 'stake', amount: s.balance }],
                  rewards: [],
                  commission: [],
                  proposals: s.proposals,
                  grants: s.grants
                    ? ['/cosmos.gov.v1.MsgVote', '/cosmos.staking.v1beta1.MsgDelegate'].map((msgTypeUrl) => ({
                        msgTypeUrl,
                        expiresAt: null,
                      }))
                    : [],
                  errors: [],
                }
              : null,
          };
          const events = [
            { kind: 'tick' as const },
            ...(s.vote
              ? [{ kind: 'vote' as const, proposalId: s.vote[0], option: s.vote[1], by: 'console:operator' }]
              : []),
            ...(s.hold ? [{ kind: 'hold' as const, proposalId: s.hold, by: 'console:operator' }] : []),
            ...(s.bondNow ? [{ kind: 'bond-now' as const, by: 'console:operator' }] : []),
          ];
          for (const event of events) {
            const out = decideGovernance(state, event, now, { settings, facts });
            state = out.state;
            for (const fx of out.effects) {
              if (fx.kind === 'queue') queued.push(fx.action.id);
              else assertClean(fx.message);
            }
          }
        }
      }),
      { ...runs, numRuns: 100 },
    );
  });

  it('enrollments', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('pending', 'approved', 'rejected' as const),
        maybe(fc.constant('10.0.0.1:26656')),
        maybe(fc.constant('i-0abc')),
        maybe(time),
        (status, p2pAddress, instanceId, decidedAt) => {
          const node = {
            id: 'sentry-4',
            chainId: CHAIN,
            role: 'sentry',
            status,
            p2pAddress,
            instanceId,
            identity: null,
            pilotVersion: '0.1.0',
            decidedAt,
            decidedBy: decidedAt === null ? null : 'console:operator',
          } as unknown as NodeRecord;
          assertClean(renderEnrollment(node));
        },
      ),
      runs,
    );
  });

  it('every chat rendering', () => {
    const summary: fc.Arbitrary<NodeSummary> = fc.record(
      {
        name,
        role: fc.constantFrom('validator', 'sentry' as const),
        state: fc.constantFrom('active', 'standby/critical', 'healthy', 'warning'),
        height: fc.nat(10_000),
        lag: fc.nat(50),
        peers: fc.nat(40),
        signing: fc.boolean(),
        reportAgeMs: fc.integer({ min: 2000, max: 7_200_000 }),
      },
      { requiredKeys: ['name', 'role', 'state'] },
    );
    const status: fc.Arbitrary<FleetStatus> = fc.record(
      {
        chainId: fc.constant(CHAIN),
        height: fc.nat(10_000),
        signer: name,
        leaseEpoch: fc.nat(20),
        missedBlocks: fc.record({ missed: fc.nat(20), window: fc.nat(20) }),
        failoverMode: fc.constantFrom('confirm', 'auto' as const),
        openAlerts: fc.nat(9),
        nodes: fc.array(summary, { maxLength: 6 }),
      },
      { requiredKeys: ['chainId', 'missedBlocks', 'failoverMode', 'openAlerts', 'nodes'] },
    );
    fc.assert(
      fc.property(status, maybe(fc.constant('console:operator')), time, (s, pinnedBy, now) => {
        assertClean(render.statusMessage(s, pinnedBy ?? undefined));
        assertClean(render.nodesMessage(s.nodes));
        for (const n of s.nodes) assertClean(render.nodeMessage({ ...n, lastReportAt: now - 5000 }, now));
        assertClean(
          render.operationMessage('Switchover', { accepted: true, summary: 'started' }, 'operator'),
        );
        assertClean(render.confirmationMessage('switchover', 'operator', [], now));
        assertClean(
          render.bondPreviewMessage({
            validator: 'v',
            liquid: '1stake',
            reserve: '1stake',
            wouldDelegate: '0stake',
          }),
        );
        assertClean(render.proposalMessage({ id: '1', title: 'Raise', votingEnd: now }, []));
        assertClean(
          render.auditMessage([
            {
              at: now,
              platform: 'console',
              chat: 'console',
              userId: 'operator',
              action: 'status',
              allowed: true,
            },
          ]),
        );
        assertClean(render.helpMessage());
      }),
      runs,
    );
  });
});
