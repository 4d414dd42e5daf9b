/**
 * Finding: report replies were not authenticated, so anyone on the path between a pilot and its
 * commander could make the node execute anything (stop its daemon, change its config, grant it a
 * lease). A real sentry pilot reports to the real commander through a man in the middle, who
 * strips, rewrites, forges and replays replies; the pilot refuses each and applies nothing of it.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { promises as fs } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommanderApp } from '../../commander/app/commander-app.js';
import type { RunningCommander } from '../../commander/server/serve.js';
import { HEADER_SIGNATURE, HEADER_TIMESTAMP, replyHeaders } from '../../protocol/index.js';
import { waitFor } from '../helpers/wait.js';
import { enrollRequest, OPERATOR } from '../commander/helpers.js';
import { approveOnEnrollment } from '../helpers/approve.js';
import { attack, type PilotWorld, pilotWorld, servedCommander } from './kit.js';

type Reply = { status: number; headers: Record<string, string>; body: string };
/** What the man in the middle does to the next report reply: returns what the pilot gets instead. */
type Tamper = (genuine: Reply, requestHeaders: IncomingHttpHeaders) => Reply;

/** A loopback proxy in front of the commander that can tamper with one report reply at a time. */
class ManInTheMiddle {
  private server: Server | null = null;
  private next: Tamper | null = null;
  url = '';
  constructor(private readonly target: string) {}

  tamperNext(tamper: Tamper): void {
    this.next = tamper;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const forwarded = await request(this.target + (req.url ?? '/'), {
          method: 'POST',
          body: Buffer.concat(chunks),
          headers: Object.fromEntries(
            Object.entries(req.headers).filter(([k]) => k === 'content-type' || k.startsWith('x-beam-')),
          ) as Record<string, string>,
        });
        let reply: Reply = {
          status: forwarded.statusCode,
          headers: forwarded.headers as Record<string, string>,
          body: await forwarded.body.text(),
        };
        if (req.url === '/v1/pilot/report' && this.next) {
          reply = this.next(reply, req.headers);
          this.next = null;
        }
        const {
          'content-length': _length,
          'transfer-encoding': _te,
          connection: _c,
          ...headers
        } = reply.headers;
        res.writeHead(reply.status, headers);
        res.end(reply.body);
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

const STOP = { id: 'mitm-stop', type: 'stop-daemon' };
const withStop = (body: string) => {
  const reply = JSON.parse(body) as { actions: unknown[] };
  reply.actions.push({ ...STOP, issuedAt: Date.now() });
  return JSON.stringify(reply);
};
const unsignedHeaders = (headers: Record<string, string>) => {
  const { [HEADER_SIGNATURE]: _s, [HEADER_TIMESTAMP]: _t, ...rest } = headers;
  return rest;
};

let dir: string;
let commander: RunningCommander;
let mitm: ManInTheMiddle;
let world: PilotWorld;
let attackerSecret: string;

const refusals = () => world.messages().filter((m) => m.includes('reply refused, nothing applied'));
const executed = (id: string) => world.pilot.store.get().executed.recent.some(([known]) => known === id);

/** Waits for the pilot to refuse one more reply; returns the reason it logged. */
async function nextRefusal(before: number): Promise<string> {
  return waitFor(() => refusals()[before], 'the pilot to refuse the reply', { timeoutMs: 15_000 });
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'beam-reply-auth-'));
  commander = await servedCommander(dir);
  mitm = new ManInTheMiddle(commander.url);
  await mitm.start();
  world = await pilotWorld('sentry-1', mitm.url, { instanceId: 'i-sentry-1' });
  await approveOnEnrollment(commander.deps, ['sentry-1']);
  await waitFor(() => world.pilot.status().lastAcceptedAt, 'sentry-1 reporting through the proxy');
  // A node of the fleet the attacker controls (approved once, e.g. a sentry it took over): a node
  // secret, just not sentry-1's.
  const enrollEvil = () =>
    request(`${commander.url}/v1/pilot/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(
        enrollRequest({ name: 'evil-1', role: 'sentry', instanceId: 'i-evil', claim: 'e'.repeat(64) }),
      ),
    }).then((r) => r.body.json() as Promise<{ secret?: string }>);
  await enrollEvil();
  await approveOnEnrollment(commander.deps, ['evil-1']);
  attackerSecret = (await enrollEvil()).secret as string;
});
afterAll(async () => {
  await world?.stop();
  await mitm?.stop();
  await commander?.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('report replies are authenticated and bound to their request', () => {
  it('refuses an unsigned reply that would stop the daemon', async () => {
    attack('the man in the middle adds a stop-daemon to a reply and strips its signature headers');
    const before = refusals().length;
    mitm.tamperNext((r) => ({ ...r, headers: unsignedHeaders(r.headers), body: withStop(r.body) }));
    expect(await nextRefusal(before)).toMatch(/missing or malformed x-beam-timestamp header/);
    expect(executed(STOP.id)).toBe(false);
    expect(world.pilot.supervisor.desired).toBe('running');
  });

  it('refuses a reply whose body changed under the commander signature', async () => {
    attack('the man in the middle adds a stop-daemon to a signed reply and keeps its signature');
    const before = refusals().length;
    mitm.tamperNext((r) => ({ ...r, body: withStop(r.body) }));
    expect(await nextRefusal(before)).toMatch(/signature does not match/);
    expect(executed(STOP.id)).toBe(false);
  });

  it('refuses a reply signed with another node secret (the attacker enrolled a sentry of their own)', async () => {
    attack(
      "a forged reply with a stop-daemon, signed for this very request with the attacker's own node secret",
    );
    const before = refusals().length;
    mitm.tamperNext((r, req) => {
      const body = withStop(r.body);
      const signature = req[HEADER_SIGNATURE] as string;
      return {
        ...r,
        headers: { ...r.headers, ...replyHeaders(attackerSecret, Date.now(), signature, body) },
        body,
      };
    });
    expect(await nextRefusal(before)).toMatch(/signature does not match/);
    expect(executed(STOP.id)).toBe(false);
    expect(world.pilot.supervisor.desired).toBe('running');
  });

  it('refuses a genuine signed reply replayed to a later request; the action runs once, when really sent', async () => {
    attack('a signed reply carrying a restart is withheld, then replayed in answer to the next report');
    const id = await new CommanderApp(commander.deps).queueRestart(OPERATOR, 'sentry-1');
    let captured: Reply | null = null;
    mitm.tamperNext((r) => {
      captured = r;
      return { status: 503, headers: { 'content-type': 'text/plain' }, body: 'withheld' };
    });
    await waitFor(() => captured, 'the reply with the restart to be withheld');
    expect(captured!.body).toContain(id);
    const before = refusals().length;
    mitm.tamperNext(() => captured!);
    expect(await nextRefusal(before)).toMatch(/signature does not match/);
    expect(executed(id)).toBe(false);
    // Left alone, the commander's own reply brings the restart: it runs once.
    const result = await waitFor(
      async () =>
        (await commander.deps.store.getNode('sentry-1'))?.value.recentResults.find((r) => r.id === id),
      'the restart to run from a genuine reply',
    );
    expect(result).toMatchObject({ ok: true, type: 'restart-daemon' });
  });
});
