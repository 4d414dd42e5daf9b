import { request } from 'undici';
import * as z from 'zod';

/** A non-negative integer as CometBFT sends it (a decimal string; some fields as numbers). */
const Uint = z
  .string()
  .regex(/^\d{1,15}$/, 'a decimal integer')
  .or(z.number().int().nonnegative());

const StatusResult = z.object({
  node_info: z.object({
    id: z.string(),
    /** The chain id the daemon runs (CometBFT names it the network). */
    network: z.string(),
    moniker: z.string().optional(),
    version: z.string().optional(),
  }),
  sync_info: z.object({
    latest_block_hash: z.string().optional(),
    latest_block_height: Uint,
    latest_block_time: z.string(),
    catching_up: z.boolean(),
  }),
  validator_info: z.object({ address: z.string(), voting_power: Uint.optional() }).optional(),
});
export type CometStatus = z.infer<typeof StatusResult>;

/**
 * Why a daemon may not be this pilot's node: it runs another chain than `node.chain_id`. Reporting
 * or acting for it would mix two chains' facts under one name; null when the chains agree.
 */
export function wrongNetwork(status: CometStatus, chainId: string, rpcUrl: string): string | null {
  const network = status.node_info.network;
  if (network === chainId) return null;
  return `the daemon at ${rpcUrl} runs chain "${network}" (its /status node_info.network), not node.chain_id "${chainId}": point daemon.rpc_url at a ${chainId} node, or set node.chain_id = "${network}" if this node is meant for that chain`;
}

const Signature = z.object({
  block_id_flag: z.number(),
  validator_address: z.string().nullable().optional(),
});
const CommitResult = z.object({
  signed_header: z.object({
    header: z.object({ height: Uint, time: z.string() }),
    commit: z.object({ height: Uint, signatures: z.array(Signature) }),
  }),
});
const ValidatorsResult = z.object({
  validators: z.array(z.object({ address: z.string(), voting_power: Uint })),
  total: z.string().or(z.number()).optional(),
});
const NetInfoResult = z.object({ n_peers: Uint });
const AbciInfoResult = z.object({ response: z.object({ version: z.string().optional() }) });
const AbciQueryResult = z.object({
  response: z.object({
    code: z.number().int().optional(),
    log: z.string().optional(),
    value: z.string().nullable().optional(),
  }),
});

export interface CommitView {
  height: number;
  time: number;
  /** Uppercase hex consensus addresses that committed (block_id_flag 2). */
  signers: Set<string>;
}

/** CometBFT BlockIDFlag: 2 = the validator signed for the block. */
const FLAG_COMMIT = 2;

/** A small CometBFT JSON-RPC client (URI style) over undici, with a per-call timeout. */
export class CometRpc {
  constructor(
    readonly baseUrl: string,
    private readonly timeoutMs = 3000,
  ) {}

  async call<T>(method: string, params: Record<string, string> = {}, schema: z.ZodType<T>): Promise<T> {
    const url = new URL(method, this.baseUrl.endsWith('/') ? this.baseUrl : `${this.baseUrl}/`);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const res = await request(url, { headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs });
    const body = (await res.body.json()) as { result?: unknown; error?: { message?: string; data?: string } };
    if (body.error)
      throw new Error(`rpc ${method}: ${body.error.message ?? ''} ${body.error.data ?? ''}`.trim());
    const parsed = schema.safeParse(body.result);
    if (!parsed.success)
      throw new Error(`rpc ${method}: unexpected reply shape (${parsed.error.issues[0]?.message})`);
    return parsed.data;
  }

  status(): Promise<CometStatus> {
    return this.call('status', {}, StatusResult);
  }

  /** The version of the application binary that answers (not CometBFT's, which `status` names). */
  async appVersion(): Promise<string | null> {
    return (await this.call('abci_info', {}, AbciInfoResult)).response.version || null;
  }

  /** An ABCI query (a gRPC query path and its protobuf request); the response's protobuf bytes. */
  async abciQuery(path: string, data: Uint8Array): Promise<Uint8Array> {
    const params: Record<string, string> = { path: JSON.stringify(path) };
    if (data.length > 0) params['data'] = `0x${Buffer.from(data).toString('hex')}`;
    const { response } = await this.call('abci_query', params, AbciQueryResult);
    if (response.code)
      throw new Error(`abci_query ${path}: code ${response.code}: ${response.log ?? ''}`.trim());
    return Buffer.from(response.value ?? '', 'base64');
  }

  async peers(): Promise<number> {
    return Number((await this.call('net_info', {}, NetInfoResult)).n_peers);
  }

  async commit(height?: number): Promise<CommitView> {
    const r = await this.call('commit', height ? { height: String(height) } : {}, CommitResult);
    const signers = new Set<string>();
    for (const s of r.signed_header.commit.signatures) {
      if (s.block_id_flag === FLAG_COMMIT && s.validator_address)
        signers.add(s.validator_address.toUpperCase());
    }
    const time = Date.parse(r.signed_header.header.time);
    return {
      height: Number(r.signed_header.header.height),
      time: Number.isFinite(time) && time > 0 ? time : 0,
      signers,
    };
  }

  async validators(height: number): Promise<Map<string, bigint>> {
    const r = await this.call('validators', { height: String(height), per_page: '100' }, ValidatorsResult);
    return new Map(r.validators.map((v) => [v.address.toUpperCase(), BigInt(v.voting_power)]));
  }

  /** Asks a running daemon to dial peers now (needs rpc.unsafe). */
  async dialPeers(peers: string[], opts: { persistent: boolean; unconditional: boolean; private: boolean }) {
    await this.call(
      'dial_peers',
      {
        peers: JSON.stringify(peers),
        persistent: String(opts.persistent),
        unconditional: String(opts.unconditional),
        private: String(opts.private),
      },
      z.unknown(),
    );
  }
}

/** Share of voting power that signed a commit. */
export function signedShare(commit: CommitView, powers: Map<string, bigint>): number | null {
  let total = 0n;
  let signed = 0n;
  for (const [addr, power] of powers) {
    total += power;
    if (commit.signers.has(addr)) signed += power;
  }
  if (total === 0n) return null;
  return Number((signed * 10_000n) / total) / 10_000;
}
