import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Comet38Client } from '@cosmjs/tendermint-rpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hub } from '../../devnet/hub.js';
import { layoutDevnet } from '../../devnet/launcher.js';
import { NodeProcess } from '../../devnet/processes.js';
import { waitFor } from '../helpers/wait.js';
import { fakeChain, fakeParams } from './fake-chain.js';

describe('plumbing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'devnet-plumb-'));
  let hub: Hub;
  const procs: NodeProcess[] = [];
  let info: Awaited<ReturnType<typeof layoutDevnet>>['info'];
  beforeAll(async () => {
    const laid = await layoutDevnet({ dir, blockTimeMs: 200, portBase: 31000, sentries: 1 }, fakeParams());
    info = laid.info;
    hub = new Hub({ chain: fakeChain(laid.genesis), blockTimeMs: 200, host: '127.0.0.1', port: 31002 });
    await hub.start();
    for (const n of info.nodes) {
      const p = new NodeProcess(n.name, n.home, n.command);
      p.start();
      procs.push(p);
    }
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves status and commits with signatures', async () => {
    const node = info.nodes[0]!;
    const client = await Comet38Client.connect(node.rpcUrl);
    const status = await waitFor(() => client.status(), 'rpc up', { timeoutMs: 15000 });
    expect(status.nodeInfo.network).toBe('beam-devnet-1');
    const h = await waitFor(async () => {
      const s = await client.status();
      const c = await client.commit(s.syncInfo.latestBlockHeight - 1);
      return c.commit.signatures.some((x) => x.blockIdFlag === 2) ? s.syncInfo.latestBlockHeight : 0;
    }, 'signed commit');
    const block = await client.block(h);
    expect(block.block.header.height).toBe(h);
    const v = await client.validators({});
    expect(v.validators.length).toBe(1);
    const state = JSON.parse(readFileSync(join(node.home, 'data/priv_validator_state.json'), 'utf8'));
    expect(Number(state.height)).toBeGreaterThan(0);
    const net = await waitFor(async () => {
      const r = await fetch(`${node.rpcUrl}/net_info`);
      const j = (await r.json()) as { result: { n_peers: string } };
      return j.result.n_peers === '1' ? j : undefined;
    }, 'peer');
    expect(net).toBeTruthy();
    client.disconnect();
  });
});
