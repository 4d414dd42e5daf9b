/**
 * Sentry defence end to end on the local stack: devnet nodes, the EC2 emulation, the self-hosted
 * commander (embedded dynalite, one tick per second) and one real pilot process per node.
 * Flood → exactly one IP rotation; an EC2 error mid-rotation → retried without a leaked or
 * mis-associated address; a dead sentry → terminated, replaced, and dialed by the validator live.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ec2Cloud } from '../../commander/adapters/ec2/ec2-cloud.js';
import type { AuditEntry } from '../../commander/adapters/store/store.js';
import type { NodeRecord } from '../../commander/domain/registry.js';
import { requestRotation } from '../../commander/app/sentry-ops.js';
import {
  type RotationOp,
  type SentryDefenceState,
  type SentryOp,
  loadSentryState,
} from '../../commander/sentry/index.js';
import { type Stack, startStack } from '../../local/stack.js';
import { waitFor } from '../helpers/wait.js';
import { freePortBase } from '../pilot/harness.js';

process.env.BEAM_LOG_LEVEL ??= 'warn';

const FLEET = 'beam';
const ACTOR = { kind: 'cli' as const, id: 'e2e' };

let dir: string;
let stack: Stack;
/** Validator peer counts sampled while the sentries are attacked, rotated and replaced. */
const peerSamples: number[] = [];
let sampling = false;
let sampler: Promise<void> | undefined;

const store = () => stack.commander.deps.store;
const nodeInfo = (name: string) => stack.devnet.info.nodes.find((n) => n.name === name)!;

async function registry(): Promise<NodeRecord[]> {
  return (await store().listNodes()).map((n) => n.value);
}

async function sentryState(): Promise<SentryDefenceState> {
  return (await loadSentryState(store(), FLEET)).state;
}

async function opsOf(node: string, kind: SentryOp['kind']): Promise<SentryOp[]> {
  return Object.values((await sentryState()).ops).filter((op) => op.node === node && op.kind === kind);
}

function configToml(node: string): { p2p: Record<string, unknown> } {
  return parseToml(readFileSync(path.join(nodeInfo(node).home, 'config', 'config.toml'), 'utf8')) as {
    p2p: Record<string, unknown>;
  };
}

async function rpc<T>(node: string, method: string): Promise<T> {
  const response = await fetch(`${nodeInfo(node).rpcUrl}/${method}`, { signal: AbortSignal.timeout(1000) });
  return ((await response.json()) as { result: T }).result;
}

async function validatorPeers(): Promise<{ id: string }[]> {
  const info = await rpc<{ peers: { node_info: { id: string } }[] }>('val-a', 'net_info');
  return info.peers.map((p) => ({ id: p.node_info.id }));
}

function startSampling(): void {
  sampling = true;
  sampler = (async () => {
    while (sampling) {
      try {
        peerSamples.push((await validatorPeers()).length);
      } catch {
        peerSamples.push(-1); // RPC down: the daemon is not running, a failure of its own
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  })();
}

async function audit(): Promise<AuditEntry[]> {
  return store().listAudit(500);
}

/** 80 real TCP connections held open on the node's p2p port for 20 s; returns how many opened. */
async function flood(node: string): Promise<number> {
  const response = await fetch(`${stack.devnet.info.hub.controlUrl}/nodes/${node}/flood`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ connections: 80, durationMs: 20_000 }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { opened: number }).opened;
}

const requestsOf = (action: string) => stack.ec2.requests().filter((r) => r.action === action);

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'beam-e2e-sentry-'));
  stack = await startStack({
    dir,
    reset: true,
    sentries: 2,
    blockTimeMs: 500,
    reportIntervalMs: 500,
    portBase: await freePortBase(),
    settings: {
      sentry: {
        fleet: FLEET,
        floodReportsToAct: 2,
        cooldownMs: 10 * 60_000,
        minHealthySentries: 1,
        freshReportMs: 4_000,
        replaceAfterMs: 6_000,
        cloudRetryBaseMs: 200,
        cloudRetryMaxMs: 1_000,
        cloudCallTimeoutMs: 20_000,
        pilotStepTimeoutMs: 30_000,
        replacementWaitMs: 60_000,
      },
    },
  });
  // Every node enrolled, reporting, its daemon up; the validator peered with both sentries.
  await waitFor(
    async () => {
      const nodes = await registry();
      return (
        nodes.length === 4 &&
        nodes.every((n) => n.status === 'approved' && n.lastReport?.daemon.running === true)
      );
    },
    'all four nodes approved and running',
    { timeoutMs: 45_000, intervalMs: 250 },
  );
  await waitFor(async () => (await validatorPeers()).length >= 2, 'val-a peered with both sentries', {
    timeoutMs: 30_000,
    intervalMs: 250,
  });
  // sentry-1 runs on a Beam Elastic IP, as sentries do after their first rotation.
  const cloud = new Ec2Cloud({
    endpoint: stack.ec2.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'devnet', secretAccessKey: 'devnet' },
  });
  await cloud.rotateAddress({
    fleet: FLEET,
    node: 'sentry-1',
    instanceId: stack.instances.get('sentry-1')!,
    opKey: 'initial-sentry-1',
  });
  cloud.close();
  startSampling();
}, 120_000);

afterAll(async () => {
  sampling = false;
  await sampler;
  // BEAM_E2E_DEBUG=1 prints the sentry defence audit trail and the validator's peer counts.
  if (process.env.BEAM_E2E_DEBUG) {
    for (const e of (await audit()).reverse()) {
      if (e.action.startsWith('sentry'))
        console.log(new Date(e.at).toISOString(), e.actor, e.action, e.target, e.detail);
    }
    console.log('val-a peers:', peerSamples.join(','));
  }
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('sentry defence on the local stack', () => {
  it('a real TCP flood on a sentry leads to exactly one IP rotation, pushed to its config.toml', async () => {
    const instanceId = stack.instances.get('sentry-1')!;
    const before = stack.ec2.addresses().find((a) => a.instanceId === instanceId)!;
    expect(before.tags['beam:node']).toBe('sentry-1');
    stack.ec2.clearRequests();
    const port = Number(nodeInfo('sentry-1').p2pAddress.split(':')[1]);

    expect(await flood('sentry-1')).toBeGreaterThanOrEqual(60);

    const ops = await waitFor(
      async () => {
        const found = await opsOf('sentry-1', 'rotation');
        return found.some((o) => o.phase === 'done' || o.phase === 'failed') ? found : null;
      },
      'the rotation of sentry-1 to finish',
      { timeoutMs: 40_000, intervalMs: 200 },
    );
    expect(ops).toHaveLength(1);
    const op = ops[0] as RotationOp;
    expect(op.phase).toBe('done');
    expect(op.requestedBy).toBe('commander');
    expect(op.reason).toMatch(/flooded/);
    expect(op.previousAddress).toBe(`${before.publicIp}:${port}`);

    // The new Elastic IP: associated with the sentry's instance, tagged as Beam's; the old one released.
    const now = stack.ec2.addresses().filter((a) => a.instanceId === instanceId);
    expect(now).toHaveLength(1);
    const address = now[0]!;
    expect(address.allocationId).toBe(op.allocationId);
    expect(address.tags).toMatchObject({ 'beam:managed': 'true', 'beam:fleet': FLEET, 'beam:op': op.id });
    expect(stack.ec2.addresses().some((a) => a.allocationId === before.allocationId)).toBe(false);
    expect(requestsOf('AllocateAddress')).toHaveLength(1);
    expect(requestsOf('ReleaseAddress').map((r) => r.params.AllocationId)).toEqual([before.allocationId]);

    // Registry, generated config and the sentry's own config.toml agree on the new external address.
    const expected = `${address.publicIp}:${port}`;
    const node = (await store().getNode('sentry-1'))!.value;
    expect(node.publicAddress).toBe(expected);
    expect(node.desiredConfig?.patch.p2p?.external_address).toBe(expected);
    await waitFor(
      () => configToml('sentry-1').p2p.external_address === expected,
      'external_address in sentry-1 config.toml',
      { timeoutMs: 10_000 },
    );
    expect(node.lastReport?.daemon.running).toBe(true);

    // The attacker finds the sentry again at once: the cooldown holds the rotation back while the
    // flooded reports keep coming, and there is no second rotation.
    await waitFor(async () => (await flood('sentry-1')) >= 60, 'a second flood of the restarted sentry-1', {
      timeoutMs: 15_000,
      intervalMs: 300,
    });
    const track = await waitFor(
      async () => {
        const t = (await sentryState()).sentries['sentry-1'];
        return t && t.floodStreak >= 5 ? t : null;
      },
      'five flooded reports of sentry-1 after its rotation',
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    expect(track.heldReason).toMatch(/cooldown/);
    expect(await opsOf('sentry-1', 'rotation')).toHaveLength(1);
    expect(requestsOf('AllocateAddress')).toHaveLength(1);
    await waitFor(
      async () => (await audit()).some((e) => e.action === 'sentry.rotation.held' && e.target === 'sentry-1'),
      'the held rotation in the audit log',
      { timeoutMs: 5_000 },
    );
    const alert = await waitFor(
      async () => (await store().getAlert('sentry:sentry-1:flood-held'))?.value,
      'the flood-held alert',
      { timeoutMs: 5_000 },
    );
    expect(alert).toMatchObject({ state: 'open', severity: 'warning', nodeId: 'sentry-1' });
    const started = (await audit()).filter(
      (e) => e.action === 'sentry.rotation.started' && e.target === 'sentry-1',
    );
    expect(started).toHaveLength(1);
  });

  it('an EC2 error mid-rotation is retried without a leaked or mis-associated address', async () => {
    const instanceId = stack.instances.get('sentry-2')!;
    stack.ec2.clearRequests();
    // The first allocation succeeds but its answer is lost (the SDK allocates again), and the
    // association fails on every SDK attempt: the commander's retry must clean up after both.
    stack.ec2.failNext('AllocateAddress', 'InternalError', 1, { afterApply: true });
    stack.ec2.failNext('AssociateAddress', 'InternalError', 3);

    // Rotations never leave fewer than one healthy sentry: sentry-1 serves again (RPC, peers) first.
    await waitFor(
      async () => {
        const daemon = (await store().getNode('sentry-1'))?.value.lastReport?.daemon;
        return daemon?.rpcReachable && (daemon.peers ?? 0) > 0;
      },
      'sentry-1 serving again',
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    const answer = await requestRotation(stack.commander.deps, { sentry: 'sentry-2', actor: ACTOR });
    expect(answer.accepted).toBe(true);
    const opId = answer.operationId!;

    const op = await waitFor(
      async () => {
        const found = (await sentryState()).ops[opId];
        return found && (found.phase === 'done' || found.phase === 'failed') ? found : null;
      },
      'the rotation of sentry-2 to finish',
      { timeoutMs: 40_000, intervalMs: 200 },
    );
    expect(op.phase).toBe('done');
    expect(op.requestedBy).toBe('cli:e2e');

    expect(requestsOf('AllocateAddress')).toHaveLength(2);
    expect(requestsOf('AssociateAddress').filter((r) => r.errorCode === 'InternalError')).toHaveLength(3);
    const entries = await audit();
    expect(entries.some((e) => e.action === 'sentry.rotation.retry' && e.detail?.startsWith(opId))).toBe(
      true,
    );

    // Exactly one Beam address for sentry-2, on its own instance; nothing allocated and unassociated.
    const mine = stack.ec2.addresses().filter((a) => a.tags['beam:node'] === 'sentry-2');
    expect(mine).toHaveLength(1);
    expect(mine[0]!.instanceId).toBe(instanceId);
    expect(stack.ec2.addresses().filter((a) => a.instanceId === undefined)).toEqual([]);
    expect(stack.ec2.addresses().filter((a) => a.instanceId === instanceId)).toHaveLength(1);

    const port = Number(nodeInfo('sentry-2').p2pAddress.split(':')[1]);
    const expected = `${mine[0]!.publicIp}:${port}`;
    expect((await store().getNode('sentry-2'))!.value.publicAddress).toBe(expected);
    await waitFor(
      () => configToml('sentry-2').p2p.external_address === expected,
      'external_address in sentry-2 config.toml',
      { timeoutMs: 10_000 },
    );
  });

  it('a dead sentry is terminated, and its replacement enrolls and is dialed by the running validator', async () => {
    const deadInstance = stack.instances.get('sentry-2')!;
    const validatorPid = stack.pilots.get('val-a')!.daemonPid();
    expect(validatorPid).not.toBeNull();
    const deadPeer = (await store().getNode('sentry-2'))!.value.cometNodeId;

    await stack.pilots.get('sentry-2')!.crash(); // the machine is gone: pilot and daemon

    const op = await waitFor(
      async () => {
        const ops = await opsOf('sentry-2', 'replacement');
        return ops.find((o) => o.phase === 'done' || o.phase === 'failed');
      },
      'the replacement of sentry-2 to finish',
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(op.phase).toBe('done');
    expect(op.requestedBy).toBe('commander');
    expect(op.reason).toMatch(/pilot silent|daemon down/);
    const replacement = op.kind === 'replacement' ? op.replacement! : '';
    expect(replacement).toMatch(/^sentry-/);

    // EC2: the dead instance terminated and its Beam address released; a new group member runs.
    expect(stack.ec2.instance(deadInstance).state).toBe('terminated');
    expect(stack.ec2.addresses().some((a) => a.tags['beam:node'] === 'sentry-2')).toBe(false);
    const newInstance = stack.instances.get(replacement)!;
    expect(stack.ec2.instance(newInstance).state).toBe('running');

    // Registry: the dead sentry is gone; the new one proved its instance (its pilot read the identity
    // document from the emulated IMDSv2), so it was approved under the sentry policy and its instance
    // bound to its name.
    expect(await store().getNode('sentry-2')).toBeNull();
    const fresh = (await store().getNode(replacement))!.value;
    expect(fresh).toMatchObject({
      role: 'sentry',
      status: 'approved',
      instanceId: newInstance,
      identity: { kind: 'ec2', instanceId: newInstance, region: stack.ec2.region },
    });
    expect(fresh.decidedBy).toBe('auto-approve policy');
    expect(stack.ec2.instance(newInstance).tags['beam:node']).toBe(replacement);
    const newPeer = fresh.cometNodeId!;

    // The validator dials it without a restart, and its config file names it for the next start.
    await waitFor(
      async () => (await validatorPeers()).some((p) => p.id === newPeer),
      'val-a to peer with the replacement',
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    await waitFor(
      () => {
        const peers = configToml('val-a').p2p.persistent_peers as string;
        return peers.includes(`${newPeer}@`) && !peers.includes(`${deadPeer}@`);
      },
      'val-a config.toml to list the replacement instead of sentry-2',
      { timeoutMs: 20_000 },
    );
    expect(stack.pilots.get('val-a')!.daemonPid()).toBe(validatorPid);
    // The validator's pilot dialed the new peer through the daemon's dial_peers and reported it.
    const dialed = await waitFor(
      async () => {
        const validator = (await store().getNode('val-a'))!.value;
        const version = validator.desiredConfig?.version;
        const peers = validator.desiredConfig?.patch.p2p?.persistent_peers ?? [];
        if (!peers.some((p) => p.startsWith(`${newPeer}@`))) return undefined;
        return validator.recentResults.find((r) => r.id === `dial-val-a-${version}`);
      },
      'the dial-peers result of val-a for the config naming the replacement',
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    expect(dialed.ok).toBe(true);
    expect(stack.pilots.get('val-a')!.daemonPid()).toBe(validatorPid);

    // The replacement got its own config: the validator ids private and unconditional.
    const validatorId = (await store().getNode('val-a'))!.value.cometNodeId!;
    await waitFor(
      () => (configToml(replacement).p2p.private_peer_ids as string).includes(validatorId),
      'the replacement config.toml to shield the validator',
      { timeoutMs: 20_000 },
    );
  });

  it('the validator never lost all its peers', async () => {
    sampling = false;
    await sampler;
    expect(peerSamples.length).toBeGreaterThan(50);
    expect(Math.min(...peerSamples)).toBeGreaterThan(0);
  });
});
