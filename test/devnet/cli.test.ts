/**
 * `devnet up` as a real process: devnet.json, CometBFT-like node homes, sentry topology with
 * p2p peers, dial_peers, the control CLI, and a clean stop on SIGTERM.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevnetInfo, readDevnetInfo } from '../../devnet/info.js';
import { waitFor } from '../helpers/wait.js';
import { freePortBase } from './ports.js';

const CLI = join(import.meta.dirname, '../../devnet/cli.ts');
const run = promisify(execFile);

async function rpc(url: string, method: string, params: Record<string, unknown> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return (await res.json()) as { result?: Record<string, unknown>; error?: { data: string } };
}

describe('devnet up (process) and the control CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'devnet-cli-'));
  let up: ChildProcess;
  let info: DevnetInfo;
  const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', CLI, ...args, '--dir', dir]);
  const node = (name: string) => {
    const n = info.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  };
  const peers = async (name: string) => {
    const r = await rpc(node(name).rpcUrl, 'net_info');
    return (r.result?.peers ?? []) as { node_info: { id: string }; is_outbound: boolean }[];
  };

  beforeAll(async () => {
    const portBase = await freePortBase(5);
    up = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        CLI,
        'up',
        '--dir',
        dir,
        '--standby',
        '1',
        '--sentries',
        '2',
        '--block-time-ms',
        '250',
        '--port-base',
        String(portBase),
        '--no-grants',
      ],
      { stdio: 'ignore' },
    );
    info = await waitFor(
      () => (existsSync(join(dir, 'devnet.json')) ? readDevnetInfo(dir) : undefined),
      'devnet.json',
      {
        timeoutMs: 30_000,
      },
    );
    await waitFor(async () => (await rpc(node('sentry-1').rpcUrl, 'status')).result, 'sentry rpc', {
      timeoutMs: 30_000,
    });
  });
  afterAll(async () => {
    if (up && up.exitCode === null) {
      up.kill('SIGTERM');
      await new Promise((resolve) => up.once('exit', resolve));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes devnet.json and CometBFT homes with the sentry topology', async () => {
    expect(info.chainId).toBe('beam-devnet-1');
    expect(info.nodes.map((n) => [n.name, n.role, n.signing])).toEqual([
      ['val-a', 'validator', true],
      ['val-b', 'validator', false],
      ['sentry-1', 'sentry', false],
      ['sentry-2', 'sentry', false],
    ]);
    expect(new Set(info.nodes.map((n) => new URL(n.rpcUrl).hostname)).size).toBe(4);
    // The rest of the network: 20 background validators of 95 beside the validator's 100.
    expect(info.background.map((b) => [b.name, b.votingPower])).toEqual(
      Array.from({ length: 20 }, (_, i) => [`bg${String(i + 1).padStart(2, '0')}`, 95]),
    );
    for (const n of info.nodes) {
      expect(existsSync(join(n.home, 'cosmovisor', 'current', 'bin', 'devnetd'))).toBe(true);
      expect(n.cosmovisorCommand.slice(-5)).toEqual(['cosmovisor', 'run', 'start', '--home', n.home]);
    }
    const val = info.validators[0];
    if (!val) throw new Error('no validator');
    const realKey = JSON.parse(readFileSync(val.keyFile, 'utf8'));
    expect(realKey.address).toBe(val.consensusAddress);
    expect(
      JSON.parse(readFileSync(join(node('val-a').home, 'config/priv_validator_key.json'), 'utf8')),
    ).toEqual(realKey);
    expect(
      JSON.parse(readFileSync(join(node('val-b').home, 'config/priv_validator_key.json'), 'utf8')).address,
    ).not.toBe(val.consensusAddress);
    expect(
      JSON.parse(readFileSync(join(node('val-b').home, 'data/priv_validator_state.json'), 'utf8')),
    ).toEqual({ height: '0', round: 0, step: 0 });
    const valConfig = parse(readFileSync(join(node('val-a').home, 'config/config.toml'), 'utf8')) as {
      p2p: Record<string, unknown>;
    };
    expect(String(valConfig.p2p.persistent_peers).split(',')).toEqual([
      `${node('sentry-1').cometNodeId}@${node('sentry-1').p2pAddress}`,
      `${node('sentry-2').cometNodeId}@${node('sentry-2').p2pAddress}`,
    ]);
    expect(valConfig.p2p.pex).toBe(false);
    const sentryConfig = parse(readFileSync(join(node('sentry-1').home, 'config/config.toml'), 'utf8')) as {
      p2p: Record<string, unknown>;
    };
    expect(String(sentryConfig.p2p.private_peer_ids)).toContain(node('val-a').cometNodeId);
    expect(String(sentryConfig.p2p.unconditional_peer_ids)).toContain(node('val-b').cometNodeId);
  });

  it('connects validators to their sentries and dials new peers through dial_peers', async () => {
    await waitFor(async () => (await peers('val-a')).length === 2, 'val-a peers with both sentries');
    expect((await peers('val-a')).every((p) => p.is_outbound)).toBe(true);
    expect((await peers('sentry-2')).some((p) => p.node_info.id === node('sentry-1').cometNodeId)).toBe(
      false,
    );
    const dialed = await rpc(node('sentry-1').rpcUrl, 'dial_peers', {
      peers: [`${node('sentry-2').cometNodeId}@${node('sentry-2').p2pAddress}`],
      persistent: true,
    });
    expect(dialed.error).toBeUndefined();
    await waitFor(
      async () => (await peers('sentry-2')).some((p) => p.node_info.id === node('sentry-1').cometNodeId),
      'sentry-1 dialed sentry-2',
    );
    // URI-style RPC; block 1 commits once more than 2/3 of the power has precommitted it.
    const block = await waitFor(async () => {
      const uri = await fetch(`${node('sentry-1').rpcUrl}/block?height=1`);
      return ((await uri.json()) as { result?: { block: { header: { height: string } } } }).result;
    }, 'block 1 over URI RPC');
    expect(block.block.header.height).toBe('1');
  });

  it('partitions and heals a node, funds, and reports errors through the CLI', async () => {
    const partitioned = JSON.parse((await cli('partition', 'val-b')).stdout);
    expect(partitioned).toEqual({ node: 'val-b', partitioned: true });
    const { nodes } = JSON.parse((await cli('nodes')).stdout) as {
      nodes: { name: string; partitioned: boolean }[];
    };
    expect(nodes.find((n) => n.name === 'val-b')?.partitioned).toBe(true);
    expect(JSON.parse((await cli('heal', 'val-b')).stdout).partitioned).toBe(false);
    expect(JSON.parse((await cli('background', 'down', '2')).stdout)).toEqual({
      action: 'down',
      validators: ['bg01', 'bg02'],
    });
    expect(JSON.parse((await cli('background', 'up')).stdout).validators).toEqual(['bg01', 'bg02']);
    const alice = info.accounts.find((a) => a.name === 'alice')?.address ?? '';
    expect(JSON.parse((await cli('fund', alice, '5')).stdout).funded).toEqual({
      denom: 'stake',
      amount: '5',
    });
    const bad = await cli('fund', alice, 'five').catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({ code: 2 });
    expect((bad as { stderr: string }).stderr).toMatch(/amount: must be a whole number/);
  });

  it('kills, restarts and floods nodes through the CLI', async () => {
    const listed = async () =>
      (JSON.parse((await cli('nodes')).stdout) as { nodes: { name: string; connected: boolean }[] }).nodes;
    expect(JSON.parse((await cli('kill', 'val-b')).stdout)).toEqual({ node: 'val-b', signal: 'SIGKILL' });
    await waitFor(
      async () => (await listed()).find((n) => n.name === 'val-b')?.connected === false,
      'val-b down',
    );
    await expect(fetch(`${node('val-b').rpcUrl}/health`)).rejects.toThrow();
    expect(JSON.parse((await cli('start', 'val-b')).stdout).started).toBe(true);
    await waitFor(async () => (await rpc(node('val-b').rpcUrl, 'health')).result, 'val-b back');
    const flood = JSON.parse(
      (await cli('flood', 'sentry-2', '--connections', '30', '--duration-ms', '500')).stdout,
    );
    expect(flood).toEqual({ node: 'sentry-2', opened: 30, durationMs: 500 });
    const { node: added } = JSON.parse((await cli('add-sentry', 'sentry-9')).stdout) as {
      node: { name: string; rpcUrl: string };
    };
    expect(added.name).toBe('sentry-9');
    await waitFor(async () => (await rpc(added.rpcUrl, 'health')).result, 'sentry-9 up');
    expect(readDevnetInfo(dir).nodes.map((n) => n.name)).toContain('sentry-9');
  });

  it('stops every node on SIGTERM', async () => {
    up.kill('SIGTERM');
    expect(await new Promise((resolve) => up.once('exit', resolve))).toBe(0);
    await expect(fetch(`${node('val-a').rpcUrl}/health`)).rejects.toThrow();
    await expect(fetch(`${node('sentry-2').rpcUrl}/health`)).rejects.toThrow();
    const added = readDevnetInfo(dir).nodes.find((n) => n.name === 'sentry-9');
    await expect(fetch(`${added?.rpcUrl}/health`)).rejects.toThrow();
  });
});
