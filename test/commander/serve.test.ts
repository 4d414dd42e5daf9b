import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES, type Report, signedHeaders } from '../../protocol/index.js';
import { sampleReport } from '../fixtures/report.js';
import { waitFor } from '../helpers/wait.js';
import { CommanderApp } from '../../commander/app/commander-app.js';
import { buildDeps } from '../../commander/deps.js';
import { runningDynamo } from '../../commander/server/dynamo.js';
import { CommanderSettings } from '../../commander/settings.js';
import { TOKEN, enrollRequest } from './helpers.js';

const stateDir = mkdtempSync(join(tmpdir(), 'beam-commander-'));
const children: ChildProcess[] = [];

async function start(
  extra: string[] = [],
): Promise<{ url: string; child: ChildProcess; stderr: () => string }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'commander/cli.ts',
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--state-dir',
      stateDir,
      '--auto-approve',
      'sentry',
      ...extra,
    ],
    {
      env: { ...process.env, BEAM_ENROLLMENT_TOKEN: TOKEN, BEAM_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const url = await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`serve exited: ${err}`);
      const line = out.split('\n').find((l) => l.startsWith('{'));
      return line ? (JSON.parse(line).listening as string) : null;
    },
    'beam-commander serve to listen',
    { timeoutMs: 30_000 },
  );
  return { url, child, stderr: () => err };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

afterEach(async () => {
  await Promise.all(children.splice(0).map(stop));
});
afterAll(() => {
  rmSync(stateDir, { recursive: true, force: true });
});

/** Approves a pending node as an admin would, in the table of the running `serve`. */
async function approveThroughTable(name: string): Promise<void> {
  const db = await runningDynamo(stateDir);
  if (!db) throw new Error('the running commander holds no embedded DynamoDB');
  const settings = CommanderSettings.parse({
    tableName: 'beam',
    dynamodbEndpoint: db.endpoint,
    enrollmentToken: TOKEN,
    secrets: { keyFile: join(stateDir, 'node-secrets.key') },
  });
  const deps = buildDeps(settings, { transports: {}, log: { info() {}, warn() {}, error() {} } });
  await new CommanderApp(deps).approveNode({ kind: 'cli', id: 'test-admin' }, name);
}

async function postReport(url: string, secret: string, report: Report) {
  const body = JSON.stringify(report);
  const response = await fetch(`${url}/v1/pilot/report`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...signedHeaders(report.nodeId, secret, Date.now(), body),
    },
    body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('beam-commander serve', () => {
  it('prints help', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'commander/cli.ts', '--help'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
    });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    expect(out).toContain('beam-commander serve');
    expect(out).toContain('--state-dir');
  });

  it('answers /healthz and signed reports over HTTP, and keeps its state across a restart', async () => {
    const first = await start();
    const health = await fetch(`${first.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true });

    const request = enrollRequest({ name: 'sentry-1', role: 'sentry', instanceId: 'i-0123' });
    const enrolled = await fetch(`${first.url}/v1/pilot/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
    });
    // A sentry without an EC2 identity document waits for a person: an admin approves it (here
    // through the running commander's own table and key file), then it collects its secret.
    expect(enrolled.status).toBe(202);
    await approveThroughTable('sentry-1');
    const collected = await fetch(`${first.url}/v1/pilot/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
    });
    expect(collected.status).toBe(200);
    const { secret } = (await collected.json()) as { secret: string };
    const report = (seq: number) =>
      sampleReport({ nodeId: 'sentry-1', role: 'sentry', seq, sentAt: Date.now() });
    const accepted = await postReport(first.url, secret, report(1));
    expect(accepted).toMatchObject({ status: 200, body: { actions: [], nextReportMs: 5000 } });
    const wrong = await postReport(first.url, 'f'.repeat(64), report(2));
    expect(wrong).toMatchObject({ status: 401, body: { error: 'bad signature' } });
    const oversize = await fetch(`${first.url}/v1/pilot/report`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-beam-node': 'sentry-1' },
      body: 'x'.repeat(MAX_BODY_BYTES + 10),
    });
    expect(oversize.status).toBe(413);
    await stop(first.child);

    const second = await start(['--tick', '* * * * * *']);
    expect(await postReport(second.url, secret, report(1))).toMatchObject({
      status: 409,
      body: { error: 'replayed report' },
    });
    expect((await postReport(second.url, secret, report(2))).status).toBe(200);
    // The cron tick runs and its heartbeat reaches pilots in the reply.
    let seq = 2;
    const ticked = await waitFor(
      async () => (await postReport(second.url, secret, report(++seq))).body.lastTickAt as number | null,
      'a tick heartbeat in the report reply',
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    expect(ticked).toBeGreaterThan(Date.now() - 10_000);
    expect(second.stderr()).not.toContain(secret);
  });
});
