/**
 * A simulated pilot speaking the real protocol over HTTP: enrolls, sends signed reports, executes the
 * actions it gets at most once and reports their results until the commander acks them.
 */
import { createHash } from 'node:crypto';
import { type Agent, request } from 'undici';
import { type Action, type ActionResult, type ReportReply, signedHeaders } from '../protocol/index.js';
import { benchReport } from './store-path.js';

export interface Sample {
  at: number;
  ms: number;
  status: number;
}

export class SimPilot {
  seq = 0;
  secret = '';
  accepted = 0;
  readonly executed = new Map<string, Action>();
  private unacked: ActionResult[] = [];
  acked = new Set<string>();

  constructor(
    readonly id: string,
    readonly base: string,
    readonly agent: Agent,
  ) {}

  private async post(path: string, body: string, headers: Record<string, string> = {}) {
    const started = performance.now();
    const res = await request(`${this.base}${path}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
      dispatcher: this.agent,
    });
    const text = await res.body.text();
    return { status: res.statusCode, text, ms: performance.now() - started };
  }

  /** Enrolls, has `approve` approve the pending node (nothing is approved without proof), and collects the secret. */
  async enroll(token: string, approve: (node: string) => Promise<unknown>): Promise<void> {
    const body = JSON.stringify({
      enrollmentToken: token,
      name: this.id,
      role: 'sentry',
      chainId: 'bench-1',
      pilotVersion: 'bench',
      claim: createHash('sha256').update(`claim-${this.id}`).digest('hex'),
      cometNodeId: createHash('sha1').update(this.id).digest('hex'),
      p2pAddress: `10.2.${Math.floor(Number(this.id.replace(/\D/g, '')) / 250) % 250}.${Number(this.id.replace(/\D/g, '')) % 250}:26656`,
      instanceId: null,
    });
    if ((await this.post('/v1/pilot/enroll', body)).status === 202) await approve(this.id);
    const reply = await this.post('/v1/pilot/enroll', body);
    const parsed = JSON.parse(reply.text) as { status?: string; secret?: string };
    if (reply.status !== 200 || !parsed.secret)
      throw new Error(`enroll ${this.id}: ${reply.status} ${reply.text}`);
    this.secret = parsed.secret;
  }

  /** One signed report; returns its latency and status, and executes the actions in the reply. */
  async report(): Promise<Sample> {
    this.seq += 1;
    const now = Date.now();
    const report = {
      ...benchReport({ id: this.id, seq: this.seq, role: 'sentry', chainId: 'bench-1' }, now),
      results: this.unacked,
    };
    const body = JSON.stringify(report);
    const at = Date.now();
    let out: { status: number; text: string; ms: number };
    try {
      out = await this.post('/v1/pilot/report', body, signedHeaders(this.id, this.secret, now, body));
    } catch {
      return { at, ms: performance.now() - at, status: 0 };
    }
    if (out.status === 200) {
      this.accepted += 1;
      const reply = JSON.parse(out.text) as ReportReply;
      for (const id of reply.ackedResults) this.acked.add(id);
      this.unacked = this.unacked.filter((r) => !reply.ackedResults.includes(r.id));
      for (const action of reply.actions) {
        if (this.executed.has(action.id)) continue;
        this.executed.set(action.id, action);
        this.unacked.push({ id: action.id, type: action.type, ok: true, finishedAt: Date.now() });
      }
    }
    return { at, ms: out.ms, status: out.status };
  }
}
