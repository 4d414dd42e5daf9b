import { promises as fs } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Devnet, startDevnet } from '../../devnet/index.js';
import { Pilot } from '../../pilot/agent.js';
import { waitFor } from '../helpers/wait.js';
import { FakeCommander, freePortBase, killDaemon, pilotConfigFor } from './harness.js';

let dir: string;
let devnet: Devnet;
let slack: Server;
let slackUrl: string;
const messages: string[] = [];
const telegram: Array<{ path: string; chat_id: string; text: string }> = [];
const pilots: Pilot[] = [];
const stateDirs: string[] = [];
const commander = new FakeCommander();
const silent = pino({ level: 'silent' });

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pilot-standalone-'));
  devnet = await startDevnet({
    dir,
    blockTimeMs: 300,
    startNodes: false,
    portBase: await freePortBase(),
    reset: true,
  });
  slack = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const msg = JSON.parse(body) as { text: string; chat_id?: string };
      if (req.url?.startsWith('/bot'))
        telegram.push({ path: req.url, chat_id: msg.chat_id ?? '', text: msg.text });
      else messages.push(msg.text);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => slack.listen(0, '127.0.0.1', () => r()));
  slackUrl = `http://127.0.0.1:${(slack.address() as AddressInfo).port}/services/T/B/X`;
  await commander.start();
});

afterAll(async () => {
  for (const p of pilots) await p.close();
  for (const d of stateDirs) await killDaemon(d);
  await commander.stop();
  await new Promise((r) => slack.close(r));
  await devnet?.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('standalone pilot (no commander)', () => {
  it('keeps its key, announces new proposals and auto-bonds above the threshold within the caps', async () => {
    const setup = await pilotConfigFor(devnet.info, 'val-a', dir, {
      extra: {
        alerts: { slack_webhook_url: slackUrl },
        standalone: {
          auto_bond_threshold: '500000000',
          fee_reserve: '2000000',
          withdraw_before_bond: false,
          interval_ms: 400,
        },
        limits: { max_delegate_per_action: '300000000', max_delegate_per_day: '100000000000' },
      },
    });
    stateDirs.push(setup.stateDir);
    const pilot = await Pilot.create(setup.config, silent);
    pilots.push(pilot);
    await pilot.start();
    const id = devnet.hub.chain.submitProposal({
      title: 'Standalone proposal',
      summary: 's',
      proposer: devnet.info.accounts.find((a) => a.name === 'faucet')!.address,
      nowMs: Date.now(),
    });
    await waitFor(
      () => messages.find((m) => m.startsWith(`New proposal #${id} in voting: Standalone proposal`)),
      'proposal alert',
    );
    const bond = await waitFor(
      () => messages.find((m) => /auto-bond \d+stake: tx [0-9A-F]{64}/.test(m)),
      'auto-bond alert',
      {
        timeoutMs: 30_000,
      },
    );
    const bonded = BigInt(/auto-bond (\d+)/.exec(bond)![1]!);
    expect(bonded).toBe(300_000_000n); // bounded by limits.max_delegate_per_action, then again next round
    // The devnet bonds 100000000 at genesis; the account holds 1000000000 more. Two capped rounds bring
    // it under the threshold. One report's queries may straddle a block, so wait for both to show it.
    const report = await waitFor(async () => {
      const r = await pilot.collect();
      const liquid = BigInt(r.chain?.balances.find((b) => b.denom === 'stake')?.amount ?? '0');
      const tokens = BigInt(r.chain?.validator?.tokens ?? '0');
      return liquid < 500_000_000n && tokens >= 700_000_000n ? r : null;
    }, 'the balance bonded');
    expect(BigInt(report.chain!.balances.find((b) => b.denom === 'stake')!.amount)).toBeGreaterThanOrEqual(
      1_000_000n,
    );
    expect(BigInt(report.chain!.validator!.tokens)).toBe(100_000_000n + 2n * 300_000_000n); // no third round
    expect(report.custody?.holdsValidatorKey).toBe(true); // no commander, no lease: the solo validator keeps its key
    expect(messages.filter((m) => m.includes(`#${id} `))).toHaveLength(1);
  }, 50_000);

  it('raises the dead-man alert when the commander tick is stale, and clears it', async () => {
    const setup = await pilotConfigFor(devnet.info, 'sentry-1', dir, {
      commanderUrl: commander.url,
      extra: {
        alerts: {
          slack_webhook_url: slackUrl,
          telegram_api_url: new URL(slackUrl).origin,
          telegram_bot_token_file: path.join(dir, 'tg-token'),
          telegram_chat_id: '-10042',
        },
        commander: { dead_man_after_ms: 1000 },
      },
    });
    await fs.writeFile(path.join(dir, 'tg-token'), '123:abc\n', { mode: 0o600 });
    stateDirs.push(setup.stateDir);
    commander.secrets.set('sentry-1', 'ef'.repeat(32));
    await fs.writeFile(
      path.join(setup.stateDir, 'node-secret.json'),
      JSON.stringify({ nodeId: 'sentry-1', secret: 'ef'.repeat(32) }),
      { mode: 0o600 },
    );
    commander.tickAgeMs = 5000;
    const pilot = await Pilot.create(setup.config, silent);
    pilots.push(pilot);
    await pilot.start();
    await waitFor(
      () => messages.find((m) => m.includes('sentry-1: dead-man') && m.includes('tick is stale')),
      'dead-man alert',
    );
    commander.tickAgeMs = 0;
    await waitFor(() => messages.find((m) => m.includes('sentry-1: the commander is back')), 'all-clear');
    expect(telegram[0]).toMatchObject({ path: '/bot123:abc/sendMessage', chat_id: '-10042' });
    expect(telegram[0]!.text).toMatch(/dead-man/);
  });
});
