/**
 * The double-sign guard: the highest height/round/step the validator key has signed, with CometBFT
 * FilePV's rules and its priv_validator_state.json format, so the state moves between Beam, CometBFT,
 * TMKMS and Horcrux. Each signature is decided, signed and persisted (fsync) in one synchronous
 * step: nothing interleaves in the event loop, and no signature leaves before its mark is on disk.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import type { Timestamp } from 'cosmjs-types/google/protobuf/timestamp';
import { type Proposal, SignedMsgType, type Vote } from 'cosmjs-types/tendermint/types/types';
import * as z from 'zod';
import {
  isZeroBlockId,
  PROPOSAL_TIMESTAMP_FIELD,
  proposalSignBytes,
  STEP_PROPOSE,
  signedTimestamp,
  VOTE_TIMESTAMP_FIELD,
  voteExtensionSignBytes,
  voteSignBytes,
  voteStep,
} from '../../cometbft/canonical.js';
import type { PilotConfig } from '../config.js';
import type { ConsensusSigner } from './key.js';

/** Where a pilot keeps its validator's sign state. */
export function signStatePath(cfg: PilotConfig): string {
  return path.join(cfg.node.state_dir, 'priv_validator_state.json');
}

/** A position in consensus: signing is allowed only at or above the last one signed. */
export interface Mark {
  height: bigint;
  round: number;
  /** 0 none yet, 1 proposal, 2 prevote, 3 precommit. */
  step: number;
}

interface Stored extends Mark {
  signature: Uint8Array | null;
  signBytes: Uint8Array | null;
}

/** A request the sign state forbids (a regression or conflicting data); the key signed nothing. */
export class SignRefusal extends Error {}

const STEP_NAMES = ['none', 'proposal', 'prevote', 'precommit'];
const MAX_INT64 = 2n ** 63n - 1n;
const MAX_INT32 = 2 ** 31 - 1;

export function describeMark(m: Mark): string {
  return `height ${m.height} round ${m.round} step ${m.step} (${STEP_NAMES[m.step] ?? '?'})`;
}

function compareMarks(a: Mark, b: Mark): number {
  if (a.height !== b.height) return a.height < b.height ? -1 : 1;
  if (a.round !== b.round) return a.round - b.round;
  return a.step - b.step;
}

/** TMKMS and Horcrux write the round as a string. */
const RoundText = z
  .string()
  .regex(/^\d{1,10}$/)
  .transform(Number);

/** priv_validator_state.json: height a decimal string, signature base64, signbytes hex; other fields ignored. */
const StateFile = z
  .looseObject({
    height: z
      .string()
      .regex(/^\d{1,19}$/, 'use the height as a decimal string, e.g. "123"')
      .refine((h) => BigInt(h) <= MAX_INT64, 'height exceeds int64'),
    round: z
      .union([z.number(), RoundText], { error: 'use the round as a number, e.g. 0' })
      .pipe(z.number().int().min(0).max(MAX_INT32)),
    step: z.number().int().min(0, 'use 0 to 3').max(3, 'use 0 to 3'),
    signature: z
      .string()
      .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'use base64')
      .nullish(),
    signbytes: z
      .string()
      .regex(/^([0-9A-Fa-f]{2})*$/, 'use hex')
      .nullish(),
  })
  .refine((s) => !s.signbytes || s.signature, {
    message: 'signbytes without a signature',
    path: ['signature'],
  });

function parseState(raw: unknown): Stored {
  const s = StateFile.parse(raw);
  return {
    height: BigInt(s.height),
    round: s.round,
    step: s.step,
    signature: s.signature ? Uint8Array.from(Buffer.from(s.signature, 'base64')) : null,
    signBytes: s.signbytes ? Uint8Array.from(Buffer.from(s.signbytes, 'hex')) : null,
  };
}

function problemsOf(error: unknown): string {
  if (error instanceof z.ZodError)
    return error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; ');
  return (error as Error).message;
}

/** CometBFT's JSON shape: signature and signbytes are left out while there are none. */
function stateJson(s: Stored): string {
  return `${JSON.stringify(
    {
      height: String(s.height),
      round: s.round,
      step: s.step,
      ...(s.signature && { signature: Buffer.from(s.signature).toString('base64') }),
      ...(s.signBytes && { signbytes: Buffer.from(s.signBytes).toString('hex').toUpperCase() }),
    },
    null,
    2,
  )}\n`;
}

/** fsx.writeFileAtomic's pattern (temp file, fsync, rename, fsync folder), synchronous: see the header. */
function writeFileAtomicSync(file: string, data: string): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'w', 0o600);
  try {
    try {
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (error) {
    try {
      unlinkSync(tmp);
    } catch {}
    throw error;
  }
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(b);

export class SignState {
  private constructor(
    readonly file: string,
    private state: Stored,
  ) {}

  /**
   * Opens the sign state at `file`, creating it at height 0 when absent (unless `create` is false:
   * then it is written on the first change). A corrupt file is an error, never a reset.
   */
  static open(file: string, { create = true }: { create?: boolean } = {}): SignState {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const zero = new SignState(file, { height: 0n, round: 0, step: 0, signature: null, signBytes: null });
      if (create) {
        mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
        zero.save(zero.state);
      }
      return zero;
    }
    try {
      return new SignState(file, parseState(JSON.parse(text)));
    } catch (error) {
      throw new Error(
        `sign state ${file} is corrupt (${problemsOf(error)}): restore it from a backup or import the last signer's priv_validator_state.json with beam-pilot signer state import; never delete it, a lower state can double-sign`,
      );
    }
  }

  /** The last signed height/round/step. */
  get mark(): Mark {
    const { height, round, step } = this.state;
    return { height, round, step };
  }

  /**
   * Signs a prevote or precommit (FilePV.signVote): returns a copy with its signature, and with the
   * stored timestamp when only the timestamp differs from what was signed at this height/round/step.
   * A non-nil precommit's extension is signed every time (extensions are not deterministic).
   * Throws SignRefusal when the rules forbid it.
   */
  signVote(
    chainId: string,
    vote: Vote,
    key: Pick<ConsensusSigner, 'sign'>,
    { signExtension = true }: { signExtension?: boolean } = {},
  ): Vote {
    const step = voteStepOf(vote.type);
    const extensible = vote.type === SignedMsgType.SIGNED_MSG_TYPE_PRECOMMIT && !isZeroBlockId(vote.blockId);
    if (signExtension && !extensible && vote.extension.length > 0)
      throw new SignRefusal('unexpected vote extension: extensions are only allowed in non-nil precommits');
    const { signature, timestamp } = this.signOnce(
      { height: vote.height, round: vote.round, step },
      voteSignBytes(chainId, vote),
      VOTE_TIMESTAMP_FIELD,
      (t) => voteSignBytes(chainId, { ...vote, timestamp: t }),
      key,
    );
    return {
      ...vote,
      signature,
      timestamp: timestamp ?? vote.timestamp,
      extensionSignature:
        signExtension && extensible ? key.sign(voteExtensionSignBytes(chainId, vote)) : new Uint8Array(),
    };
  }

  /** Signs a proposal (FilePV.signProposal); same rules and result as signVote. */
  signProposal(chainId: string, proposal: Proposal, key: Pick<ConsensusSigner, 'sign'>): Proposal {
    if (proposal.type !== SignedMsgType.SIGNED_MSG_TYPE_PROPOSAL)
      throw new SignRefusal(
        `a proposal of message type ${proposal.type}, want ${SignedMsgType.SIGNED_MSG_TYPE_PROPOSAL}`,
      );
    const { signature, timestamp } = this.signOnce(
      { height: proposal.height, round: proposal.round, step: STEP_PROPOSE },
      proposalSignBytes(chainId, proposal),
      PROPOSAL_TIMESTAMP_FIELD,
      (t) => proposalSignBytes(chainId, { ...proposal, timestamp: t }),
      key,
    );
    return { ...proposal, signature, timestamp: timestamp ?? proposal.timestamp };
  }

  /**
   * Raises the mark to the start of `height` (on promotion: nothing below it may be signed).
   * Never lowers it; returns whether it changed.
   */
  raiseTo(height: bigint | number): boolean {
    const h = BigInt(height);
    if (h <= this.state.height) return false;
    this.save({ height: h, round: 0, step: 0, signature: null, signBytes: null });
    return true;
  }

  /**
   * Adopts another signer's priv_validator_state.json (JSON text or parsed) when it is higher;
   * refuses a lower one. An equal one leaves this state as it is.
   */
  importState(
    json: string | unknown,
    source = 'the imported state',
  ): { changed: boolean; before: Mark; after: Mark } {
    let next: Stored;
    try {
      next = parseState(typeof json === 'string' ? JSON.parse(json) : json);
    } catch (error) {
      throw new Error(`${source} is not a priv_validator_state.json: ${problemsOf(error)}`);
    }
    const before = this.mark;
    const order = compareMarks(next, before);
    if (order < 0)
      throw new Error(
        `refusing to lower the sign state: ${source} is at ${describeMark(next)}, below ${this.file} at ${describeMark(before)}; importing it could double-sign`,
      );
    if (order > 0) this.save(next);
    return { changed: order > 0, before, after: this.mark };
  }

  /** The state as CometBFT's priv_validator_state.json. */
  exportState(): string {
    return stateJson(this.state);
  }

  /**
   * FilePV's check-HRS-then-sign: below the mark is refused; at the mark, the stored signature is
   * returned for the same sign bytes (with the stored timestamp if only that differs), anything
   * else is conflicting data; above it, sign and persist before returning.
   */
  private signOnce(
    at: Mark,
    signBytes: Uint8Array,
    timestampField: number,
    withTimestamp: (t: Timestamp) => Uint8Array,
    key: Pick<ConsensusSigner, 'sign'>,
  ): { signature: Uint8Array; timestamp: Timestamp | null } {
    const last = this.state;
    const order = compareMarks(at, last);
    if (order < 0) throw new SignRefusal(regression(at, last));
    if (order === 0) {
      if (!last.signBytes || !last.signature)
        throw new SignRefusal(
          `no sign bytes stored for ${describeMark(last)}: cannot tell whether this is the message already signed`,
        );
      if (sameBytes(signBytes, last.signBytes)) return { signature: last.signature, timestamp: null };
      // Compared canonically (CometBFT decodes both): the new message with the stored timestamp.
      const stored = signedTimestamp(last.signBytes, timestampField);
      if (stored && sameBytes(withTimestamp(stored), last.signBytes))
        return { signature: last.signature, timestamp: stored };
      throw new SignRefusal(
        `conflicting data at ${describeMark(at)}: different data was already signed there`,
      );
    }
    const signature = key.sign(signBytes);
    this.save({ ...at, signature, signBytes });
    return { signature, timestamp: null };
  }

  /** Persists first, then takes the new state: a failed write leaves the old mark in memory. */
  private save(next: Stored): void {
    writeFileAtomicSync(this.file, stateJson(next));
    this.state = next;
  }
}

function voteStepOf(type: SignedMsgType): number {
  try {
    return voteStep(type);
  } catch {
    throw new SignRefusal(`a vote of message type ${type}: only prevotes and precommits are signed`);
  }
}

function regression(at: Mark, last: Mark): string {
  const asked = `asked to sign ${describeMark(at)}, already signed ${describeMark(last)}`;
  if (at.height < last.height) return `height regression: ${asked}`;
  if (at.round < last.round) return `round regression: ${asked}`;
  return `step regression: ${asked}`;
}
