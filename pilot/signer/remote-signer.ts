/**
 * The daemon's CometBFT remote signer (privval): the daemon listens on its priv_validator_laddr,
 * the pilot dials it and answers each request in order. A unix socket carries no SecretConnection,
 * so the socket's file permissions are the only access control: keep it inside the daemon home.
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { SignedMsgType } from 'cosmjs-types/tendermint/types/types';
import {
  decodeMessage,
  emptyProposal,
  emptyVote,
  FrameReader,
  frameMessage,
  type PrivvalMessage,
} from '../../cometbft/privval.js';
import type { ConsensusSigner } from './key.js';
import { SignRefusal, type SignState } from './sign-state.js';

/** One sign request, signed or refused; `ms` is the time the decision, signature and write took. */
export interface SignEvent {
  kind: 'proposal' | 'prevote' | 'precommit';
  height: number;
  round: number;
  ms: number;
  refused: string | null;
}

/** The subset of pino's logger the signer uses. */
export interface SignerLog {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface RemoteSignerOptions {
  /** The daemon's priv_validator_laddr: unix:///absolute/path.sock. */
  laddr: string;
  chainId: string;
  key: ConsensusSigner;
  state: SignState;
  /** Asked at the moment of signing: null when this pilot may sign now, else why it may not. */
  gate: () => string | null;
  log: SignerLog;
  onSigned?: (event: SignEvent) => void;
  /** Delay before redialing, doubled after each connection that answered nothing, up to max. */
  redialMs?: { min: number; max: number };
}

/** RemoteSignerError.code of every refusal (CometBFT's node reads only the description). */
export const REFUSED = 1;

const VOTE_KINDS: Partial<Record<SignedMsgType, SignEvent['kind']>> = {
  [SignedMsgType.SIGNED_MSG_TYPE_PREVOTE]: 'prevote',
  [SignedMsgType.SIGNED_MSG_TYPE_PRECOMMIT]: 'precommit',
};

/** The socket path of a unix:// listen address. */
export function socketPath(laddr: string): string {
  const m = /^unix:\/\/(\/.+)$/.exec(laddr);
  if (!m)
    throw new Error(
      `signer address ${laddr}: use unix:///absolute/path.sock (the pilot speaks privval over unix sockets only)`,
    );
  return m[1] as string;
}

interface Connection {
  socket: Socket;
  reader: FrameReader;
  /** `closing` once we hang up: nothing more is read. */
  phase: 'dialing' | 'open' | 'closing';
  answered: boolean;
}

type Outcome<T> = { signed: T; refused: null } | { signed: null; refused: string };

export class RemoteSigner {
  private readonly path: string;
  private readonly redial: { min: number; max: number };
  private delay: number;
  private conn: Connection | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  /** Why the last dial failed, so a daemon that is down is logged once, not at every redial. */
  private dialFailure: string | null = null;
  private refusal: string | null = null;

  constructor(private readonly opts: RemoteSignerOptions) {
    this.path = socketPath(opts.laddr);
    this.redial = opts.redialMs ?? { min: 100, max: 2000 };
    this.delay = this.redial.min;
  }

  /** Whether a connection to the daemon is up. */
  get connected(): boolean {
    return this.conn?.phase === 'open';
  }

  /** Why the latest sign request was refused; null when it was signed (or none came yet). */
  get lastRefusal(): string | null {
    return this.refusal;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.dial();
  }

  /** Stops redialing and closes the connection; resolves once it is closed. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const socket = this.conn?.socket;
    if (!socket) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.destroy();
    });
  }

  private dial(): void {
    this.timer = null;
    if (!this.running) return;
    const conn: Connection = {
      socket: connect(this.path),
      reader: new FrameReader(),
      phase: 'dialing',
      answered: false,
    };
    this.conn = conn;
    conn.socket.on('connect', () => {
      conn.phase = 'open';
      this.dialFailure = null;
      this.opts.log.info(`remote signer connected to ${this.opts.laddr}`);
    });
    conn.socket.on('data', (chunk: Buffer) => this.receive(conn, chunk));
    conn.socket.on('error', (error: NodeJS.ErrnoException) => {
      if (conn.phase === 'open')
        this.opts.log.warn(`remote signer connection to ${this.opts.laddr}: ${error.message}`);
      else if (conn.phase === 'dialing' && this.dialFailure !== (error.code ?? error.message)) {
        this.dialFailure = error.code ?? error.message;
        this.opts.log.warn(`remote signer waiting for the daemon at ${this.opts.laddr} (${error.message})`);
      }
    });
    conn.socket.on('close', () => {
      if (conn.phase === 'open' && this.running)
        this.opts.log.warn(`remote signer disconnected from ${this.opts.laddr}; redialing`);
      conn.phase = 'closing';
      if (this.conn === conn) this.conn = null;
      if (!this.running) return;
      this.delay = conn.answered ? this.redial.min : this.delay;
      this.timer = setTimeout(() => this.dial(), this.delay);
      this.delay = Math.min(Math.max(this.delay * 2, this.redial.min), this.redial.max);
    });
  }

  /** Answers every complete frame in order; anything malformed closes the connection. */
  private receive(conn: Connection, chunk: Buffer): void {
    if (conn.phase !== 'open') return;
    let frames: Uint8Array[];
    try {
      frames = conn.reader.push(chunk);
    } catch (error) {
      this.drop(conn, (error as Error).message);
      return;
    }
    for (const frame of frames) {
      const reply = this.replyTo(frame);
      if (typeof reply === 'string') {
        this.drop(conn, reply);
        return;
      }
      conn.socket.write(frameMessage(reply));
      conn.answered = true;
    }
  }

  /** The reply to one frame, or why the connection must be closed. */
  private replyTo(frame: Uint8Array): PrivvalMessage | string {
    let request: PrivvalMessage;
    try {
      request = decodeMessage(frame);
    } catch (error) {
      return (error as Error).message;
    }
    return this.answer(request) ?? `unexpected ${request.type} from the daemon`;
  }

  /** Closes after flushing the replies already written; later bytes are not read. */
  private drop(conn: Connection, why: string): void {
    conn.phase = 'closing';
    this.opts.log.warn(`remote signer closing the connection to ${this.opts.laddr}: ${why}`);
    conn.socket.end(() => conn.socket.destroy());
  }

  /** The reply to one request, or null for a message a daemon never sends. */
  private answer(m: PrivvalMessage): PrivvalMessage | null {
    const { chainId, key, state } = this.opts;
    switch (m.type) {
      case 'pingRequest':
        return { type: 'pingResponse' };
      case 'pubKeyRequest':
        // Answered whatever the gate says: the daemon does not start without it.
        return m.chainId === chainId
          ? { type: 'pubKeyResponse', pubKey: key.pubKey, error: null }
          : {
              type: 'pubKeyResponse',
              pubKey: null,
              error: { code: REFUSED, description: this.wrongChain(m.chainId) },
            };
      case 'signVoteRequest': {
        const { vote } = m;
        const out = this.sign(VOTE_KINDS[vote.type] ?? null, vote.height, vote.round, m.chainId, () =>
          state.signVote(chainId, vote, key, { signExtension: !m.skipExtensionSigning }),
        );
        return out.refused === null
          ? { type: 'signedVoteResponse', vote: out.signed, error: null }
          : {
              type: 'signedVoteResponse',
              vote: emptyVote(),
              error: { code: REFUSED, description: out.refused },
            };
      }
      case 'signProposalRequest': {
        const { proposal } = m;
        const out = this.sign('proposal', proposal.height, proposal.round, m.chainId, () =>
          state.signProposal(chainId, proposal, key),
        );
        return out.refused === null
          ? { type: 'signedProposalResponse', proposal: out.signed, error: null }
          : {
              type: 'signedProposalResponse',
              proposal: emptyProposal(),
              error: { code: REFUSED, description: out.refused },
            };
      }
      default:
        return null;
    }
  }

  /**
   * Chain id, then the gate, then the sign state (which signs and persists): one synchronous step,
   * so the gate's answer still holds when the signature is made.
   */
  private sign<T>(
    kind: SignEvent['kind'] | null,
    height: bigint,
    round: number,
    chainId: string,
    signWith: () => T,
  ): Outcome<T> {
    const started = performance.now();
    let out: Outcome<T>;
    try {
      const refused = chainId === this.opts.chainId ? this.opts.gate() : this.wrongChain(chainId);
      out = refused === null ? { signed: signWith(), refused: null } : { signed: null, refused };
    } catch (error) {
      // A SignRefusal is the double-sign guard at work; anything else (a failed write) is worth a warning.
      if (!(error instanceof SignRefusal))
        this.opts.log.warn(`remote signer could not sign: ${(error as Error).message}`);
      out = { signed: null, refused: (error as Error).message };
    }
    if (out.refused !== this.refusal)
      this.opts.log.info(
        out.refused === null
          ? 'remote signer signing again'
          : `remote signer refusing to sign: ${out.refused}`,
      );
    this.refusal = out.refused;
    const ms = performance.now() - started;
    try {
      if (kind) this.opts.onSigned?.({ kind, height: Number(height), round, ms, refused: out.refused });
    } catch (error) {
      this.opts.log.warn(`remote signer onSigned: ${(error as Error).message}`);
    }
    return out;
  }

  private wrongChain(asked: string): string {
    return `wrong chain id ${JSON.stringify(asked)}: this signer signs for ${this.opts.chainId}`;
  }
}
