/**
 * What the failover end-to-end tests share: a link that can cut a pilot off from the commander, and
 * probes of the devnet chain and the commander's failover state (who signs, what was missed, and a
 * dump of the commander's view when a wait fails).
 */
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { loadFailover } from '../../commander/app/failover.js';
import type { FailoverState } from '../../commander/failover/index.js';
import { type RunningCommander, ServeConfig, serve } from '../../commander/server/serve.js';
import type { FailoverSettingsInput } from '../../commander/failover/index.js';
import type { CommanderSettingsInput } from '../../commander/settings.js';
import type { RecordingTransport } from '../commander/helpers.js';
import type { Devnet } from '../../devnet/index.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Signer-mode timings for a 500 ms report loop on one machine: the old signer refuses at its
 * lease's end by its own clock, so the fencing delay is a signature's persist-and-send, and the
 * grace only has to cover it, the clock skew and a report's collection and delivery.
 */
export const SIGNER_FAILOVER = {
  keyMode: 'signer' as const,
  reportIntervalMs: 500,
  leaseDurationMs: 3_000,
  renewMarginMs: 2_000,
  silentAfterMs: 1_500,
  chainHaltAfterMs: 1_500,
  startupGraceMs: 6_000,
  pilotFenceDelayMs: 500,
  maxClockSkewMs: 500,
  graceMs: 2_000,
  missedCommitsForFailover: 3,
  mode: 'auto' as const,
};

/** Forwards a pilot's requests to the commander, unless cut off (a partition between them only). */
export class Link {
  blocked = false;
  private server: Server | null = null;
  url = '';
  constructor(private readonly target: () => string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      if (this.blocked) {
        req.socket.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        try {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(req.headers))
            if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v;
          const reply = await fetch(`${this.target()}${req.url}`, {
            method: req.method ?? 'POST',
            headers,
            body: chunks.length ? Buffer.concat(chunks) : null,
          });
          const body = Buffer.from(await reply.arrayBuffer());
          if (this.blocked) {
            req.socket.destroy();
            return;
          }
          // The commander's reply signature travels in headers: pass them all on.
          const replyHeaders: Record<string, string> = {};
          reply.headers.forEach((value, key) => {
            if (!['content-length', 'transfer-encoding', 'connection', 'content-encoding'].includes(key))
              replyHeaders[key] = value;
          });
          res.writeHead(reply.status, replyHeaders);
          res.end(body);
        } catch {
          req.socket.destroy();
        }
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/**
 * The self-hosted commander of a failover test: pilots report every 500 ms and enroll with `token`;
 * its table lives in `dir/commander`, so a restart keeps every item. `settings` adds to (or
 * overrides) the commander settings, e.g. `access` for a test that talks in chat.
 */
export function serveCommander(
  dir: string,
  token: string,
  failover: FailoverSettingsInput,
  chat: RecordingTransport,
  settings: Partial<CommanderSettingsInput> = {},
): Promise<RunningCommander> {
  return serve(
    ServeConfig.parse({
      listen: '127.0.0.1:0',
      stateDir: path.join(dir, 'commander'),
      tick: '* * * * * *',
      settings: {
        enrollmentToken: token,
        reportIntervalMs: 500,
        // Validators are approved by a person (approveOnEnrollment); a pending pilot polls this often.
        enrollRetryMs: 200,
        chat: [{ platform: 'console', chat: 'ops' }],
        failover,
        ...settings,
      },
    }),
    { transports: { console: chat } },
  );
}

/** Probes of one validator on the devnet, as seen by the chain and by the commander. */
export class FailoverProbe {
  constructor(
    private readonly devnet: Devnet,
    readonly address: string,
    private readonly commander: () => RunningCommander,
  ) {}

  height(): number {
    return this.devnet.hub.chain.height();
  }

  async state(): Promise<FailoverState> {
    const key = { chainId: this.devnet.info.chainId, validator: this.address };
    return (await loadFailover(this.commander().deps.store, key)).state;
  }

  async lastReport(node: string) {
    return (await this.commander().deps.store.getNode(node))?.value.lastReport;
  }

  /** Whether the validator's signature is in the canonical commit of height `h`. */
  signedAt(h: number): boolean {
    const commit = this.devnet.hub.chain.block(h + 1)?.lastCommit;
    return commit?.signatures.some((s) => s?.validatorAddress === this.address) ?? false;
  }

  /** The latest height the validator signed, at or below `h`. */
  lastSignedAtOrBelow(h: number): number {
    for (let x = h; x > 0; x--) if (this.signedAt(x)) return x;
    return 0;
  }

  /** Heights above `from` whose canonical commit holds `node`'s signature for the validator, lowest first. */
  signedBy(node: string, from: number): number[] {
    const heights = this.devnet.hub
      .signatures({ address: this.address, fromHeight: from + 1 })
      .filter((r) => r.node === node && r.delivered && this.signedAt(r.height))
      .map((r) => r.height);
    return [...new Set(heights)].sort((a, b) => a - b);
  }

  /**
   * Waits until `node` signs for the validator above height `from`, in canonical commits; returns the
   * blocks missed between the last signature at or before `from` and that first new one.
   */
  signingAgain(node: string, from: number, timeoutMs = 30_000): Promise<number> {
    return this.diagnosed(async () => {
      const first = await waitFor(() => this.signedBy(node, from)[0], `${node} signing again above ${from}`, {
        timeoutMs,
      });
      // It keeps signing: three more of its signatures in canonical commits (a loaded machine may make
      // its daemon miss a block now and then, so no count of consecutive blocks is asked for).
      await waitFor(
        () => this.signedBy(node, first).length >= 3,
        `${node} signing three more blocks after ${first}`,
      );
      return first - this.lastSignedAtOrBelow(from) - 1;
    });
  }

  /** On failure, prints what the commander saw, for the CI log. */
  async diagnosed<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      const s = await this.state().catch(() => null);
      const audit = await this.commander()
        .deps.store.listAudit(40)
        .catch(() => []);
      console.log(
        JSON.stringify(
          {
            height: this.height(),
            lease: s?.lease,
            op: s?.op,
            outbox: s?.outbox,
            alerts: s?.alerts,
            nodes: Object.values(s?.nodes ?? {}).map((n) => ({ ...n, commits: n.commits.slice(-4) })),
            audit: audit.map((a) => `${new Date(a.at).toISOString()} ${a.action} ${a.detail}`).reverse(),
          },
          null,
          1,
        ),
      );
      throw error;
    }
  }

  noDoubleSign(): void {
    expect(this.devnet.hub.evidence).toEqual([]);
  }
}
