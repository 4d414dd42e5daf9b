/** The devnet control API: loopback HTTP JSON, zod-validated bodies, 4xx with a message that names the field. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { DirectSecp256k1HdWallet } from '@cosmjs/proto-signing';
import { fromBech32 } from '@cosmjs/encoding';
import { MsgSoftwareUpgrade } from 'cosmjs-types/cosmos/upgrade/v1beta1/tx';
import * as z from 'zod';
import { VOTE_POLICIES } from './background.js';
import { moduleAddress } from './chain/codec.js';
import { Flooder } from './flood.js';
import type { Hub } from './hub.js';
import { parseHostPort } from './wire.js';

const amount = z.string().regex(/^\d+$/, 'must be a whole number of base units as a string, e.g. "1000000"');

export const FundBody = z.object({ address: z.string().min(1), amount, denom: z.string().min(1).optional() });
export const AccountBody = z.object({
  name: z.string().min(1).optional(),
  amount: amount.optional(),
  denom: z.string().min(1).optional(),
});
export const ProposalBody = z.object({
  title: z.string().min(1),
  summary: z.string().min(1),
  votingPeriodMs: z.number().int().positive().optional(),
  proposer: z.string().min(1).optional(),
  /** A MsgSoftwareUpgrade for this plan (authority: gov) runs when the proposal passes. */
  upgrade: z
    .object({
      name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'must be letters, digits, ".", "_" and "-"'),
      height: z.number().int().positive(),
      info: z.string().default(''),
    })
    .optional(),
});
export const KillBody = z.object({ signal: z.enum(['SIGKILL', 'SIGTERM', 'SIGINT']).default('SIGKILL') });
export const StartBody = z.object({ cosmovisor: z.boolean().default(false) });
export const BackgroundBody = z.object({ count: z.number().int().positive().optional() });
export const VotePolicyBody = z.object({ policy: z.enum(VOTE_POLICIES) });
const BACKGROUND_ACTIONS = ['down', 'up', 'partition', 'heal', 'hold', 'release'] as const;
export const FloodBody = z.object({
  connections: z.number().int().min(1).max(5000),
  durationMs: z.number().int().min(1).max(600_000).default(10_000),
});
export const SentryBody = z.object({
  name: z
    .string()
    .regex(/^[a-z0-9-]+$/, 'must be lowercase letters, digits and dashes')
    .optional(),
});
export const BlockTimeBody = z.object({ blockTimeMs: z.number().int().min(20).max(60_000) });

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function validate<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw new HttpError(
      400,
      parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
    );
  }
  return parsed.data;
}

export interface ControlOptions {
  hub: Hub;
  /** Proposer used when a proposal request names none (a funded genesis account). */
  defaultProposer: string;
  /** Node names from devnet.json: they can be partitioned before they connect. */
  knownNodes?: () => string[];
  /** Node processes, when the control API runs next to them (kill / start). */
  processes?: {
    start(name: string, options: { cosmovisor: boolean }): void;
    kill(name: string, signal: NodeJS.Signals): void;
  };
  /** Creates and starts a new sentry node (devnet.json is updated). */
  addSentry?: (name?: string) => unknown;
  /** p2p address (host:port) of a node by name, for floods. */
  p2pAddressOf?: (name: string) => string | undefined;
  host?: string;
  port?: number;
}

export class ControlApi {
  private server: Server | undefined;
  private readonly flooder = new Flooder();
  url = '';

  constructor(private readonly options: ControlOptions) {}

  async start(): Promise<string> {
    const server = createServer((req, res) => void this.serve(req, res));
    this.server = server;
    const host = this.options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, host, () => resolve());
    });
    const addr = server.address();
    if (!addr || typeof addr === 'string') throw new Error('control: no TCP address');
    this.url = `http://${host}:${addr.port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.flooder.stop();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      let body: unknown;
      if (req.method === 'POST' || req.method === 'PUT') {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        try {
          body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
        } catch {
          throw new HttpError(400, 'body: must be JSON');
        }
      }
      reply(200, await this.route(req.method ?? 'GET', url, body));
    } catch (error) {
      if (error instanceof HttpError) reply(error.status, { error: error.message });
      else reply(500, { error: (error as Error).message });
    }
  }

  private async route(method: string, url: URL, body: unknown): Promise<unknown> {
    const { hub } = this.options;
    const chain = hub.chain;
    const denom = chain.params.denom;
    const path = url.pathname.replace(/\/+$/, '');
    const nodeAction = /^\/nodes\/([^/]+)\/(partition|heal|kill|start|flood)$/.exec(path);
    if (method === 'POST' && nodeAction?.[1] && nodeAction[2]) {
      return this.nodeAction(decodeURIComponent(nodeAction[1]), nodeAction[2], body);
    }
    const backgroundAction = /^\/background\/([a-z]+)$/.exec(path)?.[1];
    if (method === 'POST' && backgroundAction && backgroundAction !== 'vote')
      return this.backgroundAction(backgroundAction, body);
    switch (`${method} ${path}`) {
      case 'GET /status':
        return {
          chainId: chain.params.chainId,
          height: chain.height(),
          blockTimeMs: hub.blockTimeMs,
          round: hub.roundState(),
          upgrade: chain.upgrade(),
        };
      case 'GET /background':
        return { votePolicy: hub.background.votePolicy, validators: hub.background.list() };
      case 'POST /background/vote': {
        const { policy } = validate(VotePolicyBody, body);
        hub.background.votePolicy = policy;
        return { votePolicy: policy };
      }
      case 'GET /nodes':
        return { nodes: this.listNodes() };
      case 'POST /fund': {
        const b = validate(FundBody, body);
        this.checkAddress(b.address, 'address');
        chain.fund(b.address, [{ denom: b.denom ?? denom, amount: b.amount }]);
        return { address: b.address, funded: { denom: b.denom ?? denom, amount: b.amount } };
      }
      case 'POST /accounts': {
        const b = validate(AccountBody, body);
        const wallet = await DirectSecp256k1HdWallet.generate(24, { prefix: chain.params.bech32Prefix });
        const [account] = await wallet.getAccounts();
        if (!account) throw new Error('wallet has no account');
        const coins = [{ denom: b.denom ?? denom, amount: b.amount ?? '1000000000' }];
        chain.fund(account.address, coins);
        return {
          name: b.name ?? null,
          address: account.address,
          mnemonic: wallet.mnemonic,
          funded: coins[0],
        };
      }
      case 'POST /proposals': {
        const b = validate(ProposalBody, body);
        const proposer = b.proposer ?? this.options.defaultProposer;
        this.checkAddress(proposer, 'proposer');
        const authority = moduleAddress('gov', chain.params.bech32Prefix);
        const messages = b.upgrade
          ? [
              {
                typeUrl: '/cosmos.upgrade.v1beta1.MsgSoftwareUpgrade',
                value: MsgSoftwareUpgrade.encode(
                  MsgSoftwareUpgrade.fromPartial({
                    authority,
                    plan: { name: b.upgrade.name, height: BigInt(b.upgrade.height), info: b.upgrade.info },
                  }),
                ).finish(),
              },
            ]
          : [];
        const proposalId = chain.submitProposal({
          title: b.title,
          summary: b.summary,
          proposer,
          votingPeriodMs: b.votingPeriodMs,
          messages,
          nowMs: Date.now(),
        });
        return { proposalId };
      }
      case 'POST /sentries': {
        const b = validate(SentryBody, body);
        if (!this.options.addSentry)
          throw new HttpError(409, 'this control API does not manage node processes');
        try {
          return { node: this.options.addSentry(b.name) };
        } catch (error) {
          throw new HttpError(409, (error as Error).message);
        }
      }
      case 'POST /block-time': {
        const b = validate(BlockTimeBody, body);
        hub.setBlockTime(b.blockTimeMs);
        return { blockTimeMs: b.blockTimeMs };
      }
      case 'GET /evidence':
        return { evidence: hub.evidence };
      case 'GET /validators':
        return {
          validators: chain
            .validatorSet(chain.height())
            .map((v) => ({ address: v.address, votingPower: v.votingPower })),
          liveness: hub.validatorLiveness(),
        };
      case 'GET /signatures': {
        const fromHeight = url.searchParams.get('fromHeight');
        if (fromHeight !== null && !/^\d+$/.test(fromHeight))
          throw new HttpError(400, 'fromHeight: must be a whole number');
        return {
          signatures: hub.signatures({
            address: url.searchParams.get('address') ?? undefined,
            fromHeight: fromHeight === null ? undefined : Number(fromHeight),
          }),
        };
      }
      default:
        throw new HttpError(
          404,
          `no route ${method} ${path}; routes: GET /status, GET /nodes, POST /fund, POST /accounts, POST /proposals, POST /nodes/:name/{partition,heal,kill,start,flood}, POST /sentries, POST /block-time, GET /evidence, GET /validators, GET /signatures, GET /background, POST /background/{down,up,partition,heal,hold,release,vote}`,
        );
    }
  }

  private async nodeAction(name: string, action: string, body: unknown): Promise<unknown> {
    const { hub, processes } = this.options;
    if (!hub.nodes().some((n) => n.name === name) && !this.options.knownNodes?.().includes(name)) {
      throw new HttpError(404, `node "${name}" is unknown; see GET /nodes`);
    }
    switch (action) {
      case 'partition':
      case 'heal':
        if (action === 'partition') hub.partition(name);
        else hub.heal(name);
        return { node: name, partitioned: action === 'partition' };
      case 'kill':
      case 'start': {
        if (!processes)
          throw new HttpError(
            409,
            'this control API does not manage node processes (nodes were started elsewhere)',
          );
        if (action === 'start') {
          const { cosmovisor } = validate(StartBody, body);
          try {
            processes.start(name, { cosmovisor });
          } catch (error) {
            throw new HttpError(409, (error as Error).message);
          }
          return { node: name, started: true, cosmovisor };
        }
        const { signal } = validate(KillBody, body);
        processes.kill(name, signal);
        return { node: name, signal };
      }
      default: {
        const b = validate(FloodBody, body);
        const address = this.options.p2pAddressOf?.(name);
        if (!address) throw new HttpError(409, `the p2p address of "${name}" is unknown to this control API`);
        const { host, port } = parseHostPort(address);
        return {
          node: name,
          opened: await this.flooder.flood(host, port, b.connections, b.durationMs),
          durationMs: b.durationMs,
        };
      }
    }
  }

  /** Chaos on the background validators: `count` of them (all when omitted; `hold` needs one). */
  private backgroundAction(action: string, body: unknown): unknown {
    const background = this.options.hub.background;
    if (!(BACKGROUND_ACTIONS as readonly string[]).includes(action))
      throw new HttpError(
        404,
        `no background action "${action}"; actions: ${BACKGROUND_ACTIONS.join(', ')}, vote`,
      );
    const { count } = validate(BackgroundBody, body);
    if ((action === 'down' || action === 'partition' || action === 'hold') && count === undefined)
      throw new HttpError(400, 'count: required for down, partition and hold');
    const run: Record<(typeof BACKGROUND_ACTIONS)[number], () => string[]> = {
      down: () => background.down(count ?? 0),
      up: () => background.up(count),
      partition: () => background.partition(count ?? 0),
      heal: () => background.heal(count),
      hold: () => background.hold(count ?? 0),
      release: () => background.release(),
    };
    return { action, validators: run[action as (typeof BACKGROUND_ACTIONS)[number]]() };
  }

  /** Connected nodes plus the known ones that never connected. */
  private listNodes() {
    const { hub } = this.options;
    const seen = hub.nodes();
    const missing = (this.options.knownNodes?.() ?? [])
      .filter((name) => !seen.some((n) => n.name === name))
      .map((name) => ({
        name,
        connected: false,
        partitioned: hub.isPartitioned(name),
        viewHeight: hub.viewHeight(name),
      }));
    return [...seen, ...missing];
  }

  private checkAddress(address: string, field: string): void {
    try {
      if (fromBech32(address, 90).prefix !== this.options.hub.chain.params.bech32Prefix)
        throw new Error('prefix');
    } catch {
      throw new HttpError(
        400,
        `${field}: "${address}" is not a ${this.options.hub.chain.params.bech32Prefix}1… bech32 address`,
      );
    }
  }
}
