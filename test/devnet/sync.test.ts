/**
 * How devnet nodes catch up, as CometBFT nodes do: a node slightly behind blocksyncs (catching up,
 * then consensus); peers prune to the last blocks, so an empty store on a chain past them stalls
 * and pruned heights answer CometBFT's error; state sync against two nodes' RPC restores a peer's
 * snapshot, catches up and then follows the chain and serves peers; a wrong trust hash or a
 * silent witness is refused at start, and without a peer offering snapshots nothing is restored.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Devnet, type DevnetNode, startDevnet } from '../../devnet/index.js';
import { waitFor } from '../helpers/wait.js';
import { freePortBase } from './ports.js';

const RETAIN = 60;
/** Sentries' snapshots outlive a 5 s discovery (2 kept, 8 s apart at 200 ms blocks)... */
const INTERVAL = 40;
/** ...and keep the blocks since the oldest of them, more than min-retain-blocks. */
const SENTRY_RETAIN = 2 * INTERVAL;

interface SyncInfo {
  latest_block_height: string;
  earliest_block_height: string;
  catching_up: boolean;
}

async function rpc<T>(url: string, path: string): Promise<{ result?: T; error?: { data: string } }> {
  return (await (await fetch(`${url}/${path}`, { signal: AbortSignal.timeout(2000) })).json()) as {
    result?: T;
    error?: { data: string };
  };
}

describe('devnet block stores, blocksync, pruning and state sync', () => {
  const dir = mkdtempSync(join(tmpdir(), 'devnet-sync-'));
  let devnet: Devnet;
  const node = (name: string): DevnetNode => {
    const n = devnet.info.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  };
  const height = () => devnet.hub.chain.height();
  const sync = async (name: string) => {
    const { result } = await rpc<{ sync_info: SyncInfo }>(node(name).rpcUrl, 'status');
    if (!result) throw new Error(`${name}: no status`);
    return {
      latest: Number(result.sync_info.latest_block_height),
      earliest: Number(result.sync_info.earliest_block_height),
      catchingUp: result.sync_info.catching_up,
    };
  };
  const log = (name: string) => readFileSync(join(node(name).home, 'node.log'), 'utf8');
  const peerOf = (name: string) => `${node(name).cometNodeId}@${node(name).p2pAddress}`;
  /** Edits a new home's config.toml: [statesync] keys (raw TOML values; each key is unique) and peers. */
  const configure = (name: string, statesync: Record<string, string>, peers: string[] = []) => {
    const path = join(node(name).home, 'config', 'config.toml');
    let text = readFileSync(path, 'utf8').replace(
      /^persistent_peers = ".*"$/m,
      `persistent_peers = "${peers.join(',')}"`,
    );
    for (const [key, value] of Object.entries(statesync))
      text = text.replace(new RegExp(`^${key} = .*$`, 'm'), `${key} = ${value}`);
    writeFileSync(path, text);
  };
  const trusted = async (at: number) => {
    const { result } = await rpc<{ signed_header: { commit: { block_id: { hash: string } } } }>(
      node('sentry-1').rpcUrl,
      `commit?height=${at}`,
    );
    return result?.signed_header.commit.block_id.hash ?? '';
  };

  beforeAll(async () => {
    devnet = await startDevnet({
      dir,
      blockTimeMs: 200,
      standby: 0,
      sentries: 2,
      grants: false,
      portBase: await freePortBase(9),
      retainBlocks: RETAIN,
      snapshotInterval: INTERVAL,
      // Barely faster than the chain (5 blocks/s): catching up lasts long enough to be seen.
      blocksyncRate: 20,
    });
  });
  afterAll(async () => {
    await devnet?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a node slightly behind blocksyncs: catching up at its store height, then in consensus at the tip', async () => {
    await devnet.stopNode('sentry-2');
    const stoppedAt = height();
    await waitFor(() => height() >= stoppedAt + 20, 'twenty blocks without sentry-2');
    devnet.startNode('sentry-2');
    const behind = await waitFor(
      async () => {
        const s = await sync('sentry-2');
        return s.catchingUp ? s : undefined;
      },
      'sentry-2 catching up',
      { intervalMs: 10 },
    );
    expect(behind.latest).toBeLessThan(height());
    expect(behind.latest).toBeGreaterThanOrEqual(stoppedAt - 1);
    const synced = await waitFor(async () => {
      const s = await sync('sentry-2');
      return !s.catchingUp && s.latest >= height() - 1 ? s : undefined;
    }, 'sentry-2 caught up');
    expect(synced.latest).toBeGreaterThan(stoppedAt + 20);
    expect(log('sentry-2')).toMatch(/Starting blocksync pool routine +module=blocksync stateSynced=false/);
    expect(log('sentry-2')).toMatch(/Time to switch to consensus mode!/);
  });

  it('peers keep only the last blocks: pruned heights answer CometBFT errors, an empty store stalls', async () => {
    await waitFor(() => height() > SENTRY_RETAIN + 3, 'the chain past the retained blocks', {
      timeoutMs: 30_000,
    });
    const validator = await sync('val-a');
    expect(validator.earliest).toBeGreaterThan(1);
    expect(validator.earliest).toBeGreaterThanOrEqual(validator.latest - RETAIN);
    const sentry1 = await sync('sentry-1');
    expect(sentry1.earliest).toBeGreaterThan(1);
    expect(sentry1.earliest).toBeGreaterThanOrEqual(sentry1.latest - SENTRY_RETAIN);
    expect(sentry1.earliest).toBeLessThan(sentry1.latest - RETAIN);
    for (const path of ['block?height=1', 'commit?height=1', 'block_results?height=1']) {
      const { error } = await rpc(node('sentry-1').rpcUrl, path);
      expect(error?.data, path).toMatch(/^height 1 is not available, lowest height is \d+$/);
    }
    // (A few blocks above the base: the base moves up with every block.)
    expect((await rpc(node('sentry-1').rpcUrl, `block?height=${sentry1.earliest + 5}`)).result).toBeDefined();

    // A new machine: no chain data; a peer that keeps recent blocks only does not help.
    devnet.addSentry('fresh', { start: false });
    configure('fresh', {}, [peerOf('sentry-1')]);
    devnet.startNode('fresh');
    await waitFor(
      () => /No peer has the block we need +module=blocksync height=1 /.test(log('fresh')),
      'the stall',
    );
    const net = await rpc<{ n_peers: string }>(node('fresh').rpcUrl, 'net_info');
    expect(Number(net.result?.n_peers)).toBeGreaterThanOrEqual(1);
    expect(await sync('fresh')).toEqual({ latest: 0, earliest: 0, catchingUp: true });
    expect(log('fresh')).toMatch(/err="block 1 was pruned by every peer \(state sync is needed\)"/);
  });

  it('state syncs from a peer snapshot trusted through two RPC servers, catches up, follows and serves', async () => {
    const tip = (await sync('sentry-1')).latest;
    // A snapshot height whose next two headers exist: the newest snapshot at or above it is restored.
    const trustHeight = Math.floor((tip - 2) / INTERVAL) * INTERVAL;
    const trustHash = await trusted(trustHeight);
    expect(trustHash).toMatch(/^[0-9A-F]{64}$/);
    const statesync = {
      enable: 'true',
      rpc_servers: `"${node('sentry-1').rpcUrl},${node('val-a').rpcUrl}"`,
      trust_height: String(trustHeight),
      trust_hash: `"${trustHash}"`,
      discovery_time: '"5s"',
    };
    devnet.addSentry('synced', { start: false });
    configure('synced', statesync, [peerOf('sentry-1')]);
    // The same configuration without a peer that offers snapshots restores nothing.
    devnet.addSentry('lonely', { start: false });
    configure('lonely', statesync);
    devnet.startNode('synced');
    devnet.startNode('lonely');

    const caughtUp = await waitFor(
      async () => {
        const s = await sync('synced');
        return !s.catchingUp && s.latest >= height() - 1 ? s : undefined;
      },
      'the state-synced sentry at the tip',
      { timeoutMs: 40_000 },
    );
    const restored = Number(/Snapshot restored +module=statesync height=(\d+) /.exec(log('synced'))?.[1]);
    expect(restored).toBeGreaterThanOrEqual(trustHeight);
    expect(restored % INTERVAL).toBe(0);
    expect(caughtUp.earliest).toBe(restored);
    expect(log('synced')).toMatch(/Starting blocksync pool routine +module=blocksync stateSynced=true/);
    const { error } = await rpc(node('synced').rpcUrl, `block?height=${restored - 1}`);
    expect(error?.data).toBe(`height ${restored - 1} is not available, lowest height is ${restored}`);

    // It follows the chain, takes snapshots of its own, and a validator peers with it.
    await waitFor(async () => (await sync('synced')).latest >= caughtUp.latest + 3, 'synced following');
    await waitFor(() => /completed state snapshot/.test(log('synced')), 'a snapshot of its own', {
      timeoutMs: 20_000,
    });
    const dial = {
      jsonrpc: '2.0',
      id: 1,
      method: 'dial_peers',
      params: { peers: [peerOf('synced')], persistent: true },
    };
    await fetch(node('val-a').rpcUrl, { method: 'POST', body: JSON.stringify(dial) });
    await waitFor(async () => {
      const net = await rpc<{ peers: { node_info: { id: string } }[] }>(node('val-a').rpcUrl, 'net_info');
      return net.result?.peers.some((p) => p.node_info.id === node('synced').cometNodeId);
    }, 'val-a peered with the state-synced sentry');

    await waitFor(
      () => (log('lonely').match(/Discovering snapshots for 5s/g) ?? []).length >= 2,
      'a second discovery round of the sentry without snapshot peers',
      { timeoutMs: 20_000 },
    );
    expect(await sync('lonely')).toMatchObject({ latest: 0, catchingUp: true });
    expect(log('lonely')).not.toMatch(/Snapshot restored/);
  });

  it('refuses a wrong trust hash and a witness that does not answer, as CometBFT at start', async () => {
    const trustHeight = (await sync('sentry-1')).latest - 5;
    const actual = await trusted(trustHeight);
    const wrong = 'AB'.repeat(32);
    devnet.addSentry('wrong-hash', { start: false });
    configure('wrong-hash', {
      enable: 'true',
      rpc_servers: `"${node('sentry-1').rpcUrl},${node('val-a').rpcUrl}"`,
      trust_height: String(trustHeight),
      trust_hash: `"${wrong}"`,
    });
    devnet.addSentry('no-witness', { start: false });
    configure('no-witness', {
      enable: 'true',
      rpc_servers: `"${node('sentry-1').rpcUrl},127.0.0.1:9"`,
      trust_height: String(trustHeight),
      trust_hash: `"${actual}"`,
    });
    devnet.startNode('wrong-hash');
    devnet.startNode('no-witness');
    expect(await devnet.node('wrong-hash').waitExit()).toBe(1);
    expect(log('wrong-hash')).toContain(
      `Error: failed to start state sync: failed to set up light client state provider: expected header's hash ${wrong}, but got ${actual}`,
    );
    expect(await devnet.node('no-witness').waitExit()).toBe(1);
    expect(log('no-witness')).toContain(
      'Error: failed to start state sync: failed to set up light client state provider: no witnesses connected. please reset light client',
    );
  });
});
