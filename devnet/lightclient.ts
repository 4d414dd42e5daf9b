/**
 * State sync's light client (CometBFT's light.Client over [statesync] rpc_servers), with real HTTP
 * calls to each server's `/commit`. The header at trust_height is trusted when the first server
 * that answers (the primary) serves it with trust_hash, within trust_period, and every other server
 * that answers (the witnesses) serves the same; a server that does not answer is dropped, and no
 * witness left is an error, as CometBFT's. Later heights are taken from the primary.
 */
import * as z from 'zod';
import { rfc3339 } from './cometjson.js';

const TIMEOUT_MS = 10_000;

export interface LightBlock {
  height: number;
  /** Uppercase hex. */
  hash: string;
  timeMs: number;
}

export interface TrustOptions {
  height: number;
  /** Hex, as config.toml's trust_hash. */
  hash: string;
  periodMs: number;
}

const CommitResult = z.object({
  signed_header: z.object({
    header: z.object({ chain_id: z.string(), height: z.string(), time: z.string() }),
    commit: z.object({ block_id: z.object({ hash: z.string() }) }),
  }),
});

/** CometBFT's RPC client takes host:port, tcp:// and http(s)://. */
export function rpcBase(server: string): string {
  const url = server.replace(/^tcp:\/\//, 'http://');
  return (url.includes('://') ? url : `http://${url}`).replace(/\/+$/, '');
}

/** A server's signed header at `height`, with the light provider's errors. */
async function lightBlock(server: string, height: number, chainId: string): Promise<LightBlock> {
  const url = `${rpcBase(server)}/commit?height=${height}`;
  let body: { result?: unknown; error?: { message?: string; data?: string } };
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    body = (await res.json()) as typeof body;
  } catch (error) {
    const cause = (error as { cause?: Error }).cause ?? (error as Error);
    throw new Error(`post failed: Get "${url}": ${cause.message}`);
  }
  if (body.error) {
    const data = body.error.data ?? body.error.message ?? '';
    if (/is not available, lowest height is/.test(data)) throw new Error('light block not found');
    if (/must be less than or equal to the current blockchain height/.test(data))
      throw new Error('height requested is too high');
    throw new Error(data);
  }
  const parsed = CommitResult.safeParse(body.result);
  if (!parsed.success) throw new Error(`${server}: not a commit answer`);
  const { header, commit } = parsed.data.signed_header;
  if (header.chain_id !== chainId)
    throw new Error(`header belongs to another chain "${header.chain_id}", not "${chainId}"`);
  return {
    height: Number(header.height),
    hash: commit.block_id.hash.toUpperCase(),
    timeMs: Date.parse(header.time),
  };
}

export class LightClient {
  private constructor(
    private readonly primary: string,
    private readonly chainId: string,
  ) {}

  /** CometBFT's NewClient with trust options: verifies the trusted header against every server. */
  static async trust(
    servers: string[],
    trust: TrustOptions,
    chainId: string,
    nowMs = Date.now(),
  ): Promise<LightClient> {
    const hash = trust.hash.toUpperCase();
    if (hash.length !== 64)
      throw new Error(
        `invalid TrustOptions: expected hash size to be 32 bytes, got ${hash.length / 2} bytes`,
      );
    const answers = await Promise.all(
      servers.map((server) =>
        lightBlock(server, trust.height, chainId).then(
          (block) => ({ server, block }),
          (error: Error) => ({ server, error }),
        ),
      ),
    );
    const answered = answers.flatMap((a) => ('block' in a ? [a] : []));
    const [primary, ...witnesses] = answered;
    if (!primary) throw (answers[0] as { error: Error }).error;
    if (primary.block.hash !== hash)
      throw new Error(`expected header's hash ${hash}, but got ${primary.block.hash}`);
    const expiresMs = primary.block.timeMs + trust.periodMs;
    if (expiresMs <= nowMs)
      throw new Error(`old header has expired at ${rfc3339(expiresMs)} (now: ${rfc3339(nowMs)})`);
    for (const [i, w] of witnesses.entries()) {
      if (w.block.hash !== primary.block.hash)
        throw new Error(`header hash (${w.block.hash}) from witness (${i}) does not match primary`);
    }
    if (witnesses.length === 0) throw new Error('no witnesses connected. please reset light client');
    return new LightClient(primary.server, chainId);
  }

  /** The header at `height`, from the primary. */
  verify(height: number): Promise<LightBlock> {
    return lightBlock(this.primary, height, this.chainId);
  }
}
