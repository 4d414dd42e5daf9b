import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Action, ActionResult } from '../../../protocol/index.js';
import { Ec2Cloud } from '../../../commander/adapters/ec2/ec2-cloud.js';
import type { NodeRecord } from '../../../commander/domain/registry.js';
import {
  type SentryEffect,
  type SentryEvent,
  activeOps,
  initialSentryDefenceState,
  performCloudEffects,
} from '../../../commander/sentry/index.js';
import { type Ec2Emulator, type Instance, startEc2Emulator } from '../../../devnet/ec2/emulator.js';
import { waitFor } from '../../helpers/wait.js';
import { Driver, T0, node, ofType, sentryReport, settings } from './fixtures.js';

const FLEET = 'mainnet';

/** A pilot stand-in: executes queued actions in order, as the real one does, and reports the results. */
class SimPilot {
  queue: Action[] = [];
  done = new Set<string>();
  running = true;
  configVersion: string | null = null;
  externalAddress: string | null = null;
  dialed: string[][] = [];
  seq = 1;
  constructor(readonly id: string) {}

  report(at: number, flooded = false) {
    const results: ActionResult[] = [];
    for (const action of this.queue.splice(0)) {
      if (this.done.has(action.id)) continue;
      this.done.add(action.id);
      if (action.type === 'stop-daemon') this.running = false;
      if (action.type === 'start-daemon') this.running = true;
      if (action.type === 'apply-config') {
        this.configVersion = action.version;
        this.externalAddress = action.patch.p2p?.external_address ?? this.externalAddress;
      }
      if (action.type === 'dial-peers') this.dialed.push(action.peers);
      results.push({ id: action.id, type: action.type, ok: true, finishedAt: at });
    }
    this.seq += 1;
    return sentryReport(this.id, this.seq, {
      flooded,
      running: this.running,
      configVersion: this.configVersion,
      results,
    });
  }
}

let emulator: Ec2Emulator;
let cloud: Ec2Cloud;
let pilots: Map<string, SimPilot>;
let d: Driver;
let now: number;
let removed: string[];

function sentryInstance(name: string, extraTags: Record<string, string> = {}): Instance {
  return emulator.addInstance({
    name,
    group: 'sentries',
    tags: {
      'beam:role': 'sentry',
      'beam:managed': 'true',
      'beam:fleet': FLEET,
      'beam:node': name,
      ...extraTags,
    },
  });
}

function pilot(id: string): SimPilot {
  const p = pilots.get(id) ?? new SimPilot(id);
  pilots.set(id, p);
  return p;
}

/** Applies an event, then performs its effects as the core would: actions to pilots, cloud calls fed back. */
async function step(event: SentryEvent): Promise<SentryEffect[]> {
  const all: SentryEffect[] = [];
  let pending: SentryEvent[] = [event];
  while (pending.length > 0) {
    const next: SentryEvent[] = [];
    for (const e of pending) {
      const out = d.apply(e, now);
      all.push(...out.effects);
      for (const fx of ofType(out.effects, 'action')) pilot(fx.nodeId).queue.push(fx.action);
      for (const fx of ofType(out.effects, 'remove-node')) removed.push(fx.nodeId);
      next.push(...(await performCloudEffects(cloud, FLEET, out.effects)));
    }
    pending = next;
  }
  d.reportedAt(now, ...removed);
  return all;
}

async function report(id: string, flooded = false) {
  now += 1000;
  d.reportedAt(now, ...removed);
  return step({ type: 'report', report: pilot(id).report(now, flooded) });
}

function beamAddresses() {
  const beam = emulator.addresses().filter((a) => a.tags['beam:managed'] === 'true');
  return { associated: beam.filter((a) => a.instanceId), leaked: beam.filter((a) => !a.instanceId) };
}

async function setup(
  options: { addressLimit?: number; replacementDelayMs?: number; onLaunch?: (i: Instance) => void } = {},
) {
  emulator = await startEc2Emulator({
    addressLimit: options.addressLimit ?? 5,
    replacementDelayMs: options.replacementDelayMs ?? 0,
    onReplacementLaunched: (fresh) => options.onLaunch?.(fresh),
  });
  cloud = new Ec2Cloud({
    region: 'us-east-1',
    endpoint: emulator.url,
    credentials: { accessKeyId: 'AKIDEVNET', secretAccessKey: 'devnet-secret' },
    maxAttempts: 1,
  });
}

function fleetOf(names: string[], extra: NodeRecord[] = []): NodeRecord[] {
  return [
    ...names.map((name, i) => node(name, 'sentry', i + 1, { instanceId: sentryInstance(name).instanceId })),
    node('val-1', 'validator', 11),
    node('val-2', 'validator', 12),
    ...extra,
  ];
}

function start(nodes: NodeRecord[], input = settings({ cooldownMs: 0 })) {
  const wired = Object.fromEntries(
    nodes.filter((n) => n.role === 'sentry').map((n) => [n.id, `${n.cometNodeId}@${n.p2pAddress}`]),
  );
  d = new Driver(initialSentryDefenceState(FLEET, wired), { nodes, settings: input });
}

/** Drives one flood-triggered rotation of `id` through the pilot's reports to its end. */
async function rotateByFlood(id: string) {
  for (let i = 0; i < 3; i++) await report(id, true);
  const op = activeOps(d.state).find((o) => o.node === id);
  expect(op?.phase).toBe('stopping');
  await report(id); // stop result → rotation in the cloud → config and start queued
  await report(id); // config applied, daemon started
  await report(id); // running at the new config version
  return d.state.ops[op!.id]!;
}

function expectOneAddress(instanceId: string, publicIp: string) {
  const { associated, leaked } = beamAddresses();
  expect(leaked).toEqual([]);
  expect(associated.map((a) => [a.instanceId, a.publicIp])).toEqual([[instanceId, publicIp]]);
  expect(emulator.instance(instanceId).publicIp).toBe(publicIp);
}

beforeEach(() => {
  pilots = new Map();
  now = T0;
  removed = [];
});

afterEach(async () => {
  cloud?.close();
  await emulator?.stop();
});

describe('rotation against the EC2 emulation', () => {
  it('runs the full sequence: stop, new Elastic IP, config, start; a second rotation releases the first address', async () => {
    await setup();
    start(fleetOf(['sentry-a', 'sentry-b', 'sentry-c']));
    const instanceId = d.input.nodes[0]!.instanceId!;
    const first = await rotateByFlood('sentry-a');
    expect(first).toMatchObject({ phase: 'done', kind: 'rotation' });
    const firstIp = first.kind === 'rotation' ? first.newAddress!.split(':')[0]! : '';
    expectOneAddress(instanceId, firstIp);
    const a = pilot('sentry-a');
    expect(a).toMatchObject({ running: true, externalAddress: `${firstIp}:26656` });
    expect([...a.done].map((id) => id.split('.').at(-1))).toEqual(['stop', 'config', 'start']);

    const second = await rotateByFlood('sentry-a');
    expect(second.phase).toBe('done');
    const secondIp = second.kind === 'rotation' ? second.newAddress!.split(':')[0]! : '';
    expect(secondIp).not.toBe(firstIp);
    expectOneAddress(instanceId, secondIp);
    expect(second).toMatchObject({ previousAddress: `${firstIp}:26656` });
    expect(a.externalAddress).toBe(`${secondIp}:26656`);
  });

  it.each([
    ['an InternalError before the association', {}],
    ['a lost response after the association', { afterApply: true }],
  ])(
    'retries %s on the next tick: one address, none leaked, old released, daemon started',
    async (_, options) => {
      await setup();
      start(
        fleetOf(['sentry-a', 'sentry-b', 'sentry-c']),
        settings({ cooldownMs: 0, cloudRetryBaseMs: 5000 }),
      );
      const instanceId = d.input.nodes[0]!.instanceId!;
      const first = await rotateByFlood('sentry-a');
      const firstAllocation = first.kind === 'rotation' ? first.allocationId : null;

      emulator.failNext('AssociateAddress', 'InternalError', 1, options);
      for (let i = 0; i < 3; i++) await report('sentry-a', true);
      const effects = await report('sentry-a'); // stop result → cloud call fails
      const op = activeOps(d.state)[0]!;
      expect(op).toMatchObject({
        phase: 'rotating',
        attempts: 1,
        lastError: expect.stringContaining('InternalError'),
      });
      expect(ofType(effects, 'audit').map((a) => a.entry.action)).toContain('sentry.rotation.retry');
      expect(pilot('sentry-a').running).toBe(false);

      now += 5000;
      await step({ type: 'tick' });
      expect(d.state.ops[op.id]?.phase).toBe('starting');
      await report('sentry-a');
      await report('sentry-a');
      const done = d.state.ops[op.id]!;
      expect(done.phase).toBe('done');
      const ip = done.kind === 'rotation' ? done.newAddress!.split(':')[0]! : '';
      expectOneAddress(instanceId, ip);
      expect(emulator.addresses().some((x) => x.allocationId === firstAllocation)).toBe(false);
      expect(emulator.requests().filter((r) => r.action === 'AllocateAddress')).toHaveLength(2);
      expect(pilot('sentry-a')).toMatchObject({ running: true, externalAddress: `${ip}:26656` });
    },
  );

  it("fails on 'limit', alerts, and starts the daemon again with its old address", async () => {
    await setup({ addressLimit: 1 });
    start(fleetOf(['sentry-a', 'sentry-b', 'sentry-c']));
    const instanceId = d.input.nodes[0]!.instanceId!;
    const first = await rotateByFlood('sentry-a');
    const oldAddress = first.kind === 'rotation' ? first.newAddress! : '';

    for (let i = 0; i < 3; i++) await report('sentry-a', true);
    const effects = await report('sentry-a');
    const op = Object.values(d.state.ops).at(-1)!;
    expect(op).toMatchObject({
      phase: 'failed',
      failure: expect.stringMatching(/^limit: Elastic IP limit reached/),
    });
    expect(ofType(effects, 'alert')).toEqual([
      expect.objectContaining({ key: 'sentry:sentry-a:rotation-failed', severity: 'critical' }),
    ]);
    expect(ofType(effects, 'chat').at(-1)?.message).toMatchObject({
      title: 'IP rotation of sentry-a failed',
      text: expect.stringContaining('started again with its old address'),
    });
    await report('sentry-a');
    expect(pilot('sentry-a')).toMatchObject({ running: true, externalAddress: oldAddress });
    expectOneAddress(instanceId, oldAddress.split(':')[0]!);
  });
});

describe('replacement against the EC2 emulation', () => {
  it('terminates a dead sentry, and the enrolled replacement is dialed by the validators', async () => {
    const enrolled: NodeRecord[] = [];
    await setup({
      replacementDelayMs: 20,
      // The replacement's pilot enrolls under the auto-approve policy.
      onLaunch: (fresh) =>
        enrolled.push(
          node(fresh.name!, 'sentry', 9, { instanceId: fresh.instanceId, enrolledAt: now, lastSeen: now }),
        ),
    });
    start(fleetOf(['sentry-a', 'sentry-b', 'sentry-c']), settings({ replaceAfterMs: 60_000 }));
    const dead = d.input.nodes.find((n) => n.id === 'sentry-c')!;

    for (const s of ['sentry-a', 'sentry-b']) await report(s);
    now += 30_000;
    d.reportedAt(now, 'sentry-c');
    await step({ type: 'tick' });
    expect(activeOps(d.state)).toEqual([]);
    now += 50_000;
    d.reportedAt(now, 'sentry-c');
    const effects = await step({ type: 'tick' });
    expect(ofType(effects, 'remove-node')).toEqual([{ type: 'remove-node', nodeId: 'sentry-c' }]);
    expect(['shutting-down', 'terminated']).toContain(emulator.instance(dead.instanceId!).state);
    const op = Object.values(d.state.ops)[0]!;
    expect(op).toMatchObject({ kind: 'replacement', phase: 'awaiting-replacement' });

    const fresh = await waitFor(() => enrolled[0], 'the replacement instance to launch', { timeoutMs: 5000 });
    expect(fresh.id).toBe('sentry-c-r1');
    d.input = { ...d.input, nodes: [...d.input.nodes.filter((n) => n.id !== 'sentry-c'), fresh] };
    const wired = await step({ type: 'tick' });
    const peer = `${fresh.cometNodeId}@${fresh.p2pAddress}`;
    for (const v of ['val-1', 'val-2']) {
      const config = ofType(wired, 'desired-config').find((e) => e.nodeId === v)?.config;
      expect(config?.patch.p2p?.persistent_peers).toContain(peer);
      expect(config?.patch.p2p?.persistent_peers?.join()).not.toContain(dead.cometNodeId!);
      // One config drops the dead sentry at its termination, the next adds the replacement (dialed now).
      expect(
        pilot(v)
          .report(now)
          .results.map((r) => r.type),
      ).toEqual(['apply-config', 'apply-config', 'dial-peers']);
      expect(pilot(v).configVersion).toBe(config?.version);
      expect(pilot(v).dialed).toEqual([[peer]]);
    }
    expect(d.state.ops[op.id]).toMatchObject({ phase: 'done', replacement: 'sentry-c-r1' });
  });

  it('never terminates an instance that is not a Beam-managed sentry, even if the registry names it', async () => {
    await setup();
    const foreign = emulator.addInstance({ name: 'db', tags: { 'beam:fleet': FLEET } });
    start([
      ...fleetOf(['sentry-a', 'sentry-b']),
      node('sentry-z', 'sentry', 5, { instanceId: foreign.instanceId }),
    ]);
    const effects = await step({ type: 'request-replacement', node: 'sentry-z', actor: 'slack:U1' });
    const op = Object.values(d.state.ops)[0]!;
    expect(op).toMatchObject({
      phase: 'failed',
      failure: expect.stringMatching(/^refused: Refusing to terminate/),
    });
    expect(ofType(effects, 'alert')[0]).toMatchObject({ key: 'sentry:sentry-z:replacement-failed' });
    expect(emulator.instance(foreign.instanceId).state).toBe('running');
    expect(emulator.requests().map((r) => r.action)).not.toContain('TerminateInstances');
  });
});
