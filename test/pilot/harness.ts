/** Test harness for the pilot: a loopback fake commander (the commander's contract), devnet, pilot configs. */
import { randomBytes } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import {
  type Action,
  HEADER_NODE,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  MAX_REPLY_ACTIONS,
  Report,
  type ReportReply,
  replyHeaders,
  verifySignature,
} from '../../protocol/index.js';
import type { DevnetInfo } from '../../devnet/index.js';
import {
  type PilotConfigOptions,
  type PilotSetup,
  pilotConfigFor as localPilotConfig,
} from '../../local/pilot-config.js';

export interface NodeScript {
  /** Actions re-sent on every reply until a result for them arrives (like the commander). */
  actions: Action[];
  lease: ReportReply['lease'];
  /** Withhold acks (to test re-sending and restarts). */
  ack: boolean;
  /** When non-zero, the lease expires this long after each reply (negative: already expired). */
  leaseMs: number;
}

/** Speaks the commander's side of protocol/: verifies signatures, seq, schema; replies per node script. */
export class FakeCommander {
  readonly secrets = new Map<string, string>();
  readonly reports = new Map<string, Report[]>();
  readonly results = new Map<string, Report['results']>();
  readonly scripts = new Map<string, NodeScript>();
  readonly rejected: string[] = [];
  enrollPending = 1;
  /** Age of the commander's last tick in replies (a stale tick raises the pilots' dead-man alert). */
  tickAgeMs = 0;
  enrollments = 0;
  /** While set, report replies wait for it; `held` counts the reports that waited. */
  holdReplies: Promise<void> | null = null;
  held = 0;
  private server: Server | null = null;
  url = '';

  script(node: string): NodeScript {
    let s = this.scripts.get(node);
    if (!s) {
      s = { actions: [], lease: null, ack: true, leaseMs: 0 };
      this.scripts.set(node, s);
    }
    return s;
  }

  last(node: string): Report | undefined {
    return this.reports.get(node)?.at(-1);
  }

  resultsOf(node: string, id: string) {
    return (this.results.get(node) ?? []).filter((r) => r.id === id);
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const [code, reply] = this.handle(req.url ?? '', req.headers, body);
        if (this.holdReplies && req.url === '/v1/pilot/report') {
          this.held++;
          await this.holdReplies;
        }
        const text = JSON.stringify(reply);
        res.writeHead(code, { 'content-type': 'application/json', ...this.signReply(req, code, text) });
        res.end(text);
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private handle(
    url: string,
    headers: Record<string, string | string[] | undefined>,
    body: string,
  ): [number, unknown] {
    if (url === '/v1/pilot/enroll') {
      const req = JSON.parse(body) as { name: string; claim: string };
      this.enrollments++;
      if (this.enrollments <= this.enrollPending)
        return [202, { status: 'pending', nodeId: req.name, retryAfterMs: 200 }];
      const secret = this.secrets.get(req.name) ?? randomBytes(32).toString('hex');
      this.secrets.set(req.name, secret);
      return [200, { status: 'approved', nodeId: req.name, secret }];
    }
    if (url !== '/v1/pilot/report') return [404, { error: 'not found' }];
    const node = String(headers[HEADER_NODE] ?? '');
    const secret = this.secrets.get(node);
    if (!secret) return this.reject(401, `unknown node ${node}`);
    const check = verifySignature(
      secret,
      headers[HEADER_TIMESTAMP] as string | undefined,
      headers[HEADER_SIGNATURE] as string | undefined,
      body,
      Date.now(),
    );
    if (!check.ok) return this.reject(401, check.reason);
    const parsed = Report.safeParse(JSON.parse(body));
    if (!parsed.success) return this.reject(400, parsed.error.message);
    const report = parsed.data;
    const list = this.reports.get(node) ?? [];
    const prev = list.at(-1);
    if (prev && report.seq <= prev.seq) return this.reject(409, `seq ${report.seq} not above ${prev.seq}`);
    list.push(report);
    this.reports.set(node, list);
    const s = this.script(node);
    const stored = this.results.get(node) ?? [];
    for (const r of report.results)
      if (!stored.some((x) => x.id === r.id && x.finishedAt === r.finishedAt)) stored.push(r);
    this.results.set(node, stored);
    s.actions = s.actions.filter((a) => !stored.some((r) => r.id === a.id) || !s.ack);
    const now = Date.now();
    const lease = s.leaseMs !== 0 && s.lease ? { ...s.lease, expiresAt: now + s.leaseMs } : s.lease;
    const reply: ReportReply = {
      actions: s.actions.slice(0, MAX_REPLY_ACTIONS),
      lease,
      configVersion: null,
      nextReportMs: 500,
      commanderTime: now,
      lastTickAt: now - this.tickAgeMs,
      ackedResults: s.ack ? report.results.map((r) => r.id) : [],
    };
    return [200, reply];
  }

  /** A report reply's signature, bound to the request it answers (as the commander signs it). */
  private signReply(req: IncomingMessage, code: number, text: string): Record<string, string> {
    const secret = this.secrets.get(String(req.headers[HEADER_NODE] ?? ''));
    const signature = req.headers[HEADER_SIGNATURE];
    if (req.url !== '/v1/pilot/report' || code !== 200 || !secret || typeof signature !== 'string') return {};
    return replyHeaders(secret, Date.now(), signature, text);
  }

  private reject(code: number, why: string): [number, unknown] {
    this.rejected.push(why);
    return [code, { error: why }];
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** A base port free on every loopback address the devnet will use (p2p = base, rpc = base + 1, hub = base + 2). */
export async function freePortBase(hosts = 8): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const ok = await Promise.all(
      Array.from({ length: hosts * 3 }, (_, i) => {
        const host = `127.0.0.${1 + Math.floor(i / 3)}`;
        return new Promise<boolean>((resolve) => {
          const s = net.createServer();
          s.once('error', () => resolve(false));
          s.listen(base + (i % 3), host, () => s.close(() => resolve(true)));
        });
      }),
    );
    if (ok.every(Boolean)) return base;
  }
  throw new Error('no free port base found');
}

export type { PilotSetup } from '../../local/pilot-config.js';

/** A pilot config for a devnet node (the local stack's, see local/pilot-config.ts), reporting every 300 ms. */
export function pilotConfigFor(
  info: DevnetInfo,
  nodeName: string,
  dir: string,
  opts: PilotConfigOptions = {},
): Promise<PilotSetup> {
  return localPilotConfig(info, nodeName, dir, { reportIntervalMs: 300, ...opts });
}

/** Kills the daemon a process-mode pilot left running (its pid file), and waits until it is gone. */
export async function killDaemon(stateDir: string): Promise<void> {
  try {
    const { pid } = JSON.parse(await fs.readFile(path.join(stateDir, 'daemon.pid'), 'utf8')) as {
      pid: number;
    };
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        return;
      }
    }
    for (let i = 0; i < 100 && isLive(pid); i++) await new Promise((r) => setTimeout(r, 20));
  } catch {
    // no pid file: nothing started
  }
}

export async function daemonPid(stateDir: string): Promise<number> {
  return (JSON.parse(await fs.readFile(path.join(stateDir, 'daemon.pid'), 'utf8')) as { pid: number }).pid;
}

/** Writes a persisted lease into a pilot's state, as a pilot that held it before a restart would have. */
export async function seedLease(stateDir: string, epoch: number, validForMs: number): Promise<void> {
  const state = {
    highestEpoch: epoch,
    lease: { epoch, holder: true, expiresAtWall: Date.now() + validForMs },
  };
  await fs.writeFile(path.join(stateDir, 'state.json'), JSON.stringify(state), { mode: 0o600 });
}

/** Alive and not a zombie (an orphaned daemon may wait for a reaper that this container lacks). */
export function isLive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
