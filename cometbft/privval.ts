/**
 * CometBFT's privval wire protocol (v0.38, privval/types.proto): the messages a node and its
 * remote signer exchange, each a `privval.Message` written with a uvarint length prefix.
 */
import { BinaryReader, BinaryWriter } from 'cosmjs-types/binary';
import { type BlockID, Proposal, SignedMsgType, Vote } from 'cosmjs-types/tendermint/types/types';
import { ZERO_TIME } from './canonical.js';

/** CometBFT's maxRemoteSignerMsgSize: a longer frame is refused. */
export const MAX_FRAME_BYTES = 10 * 1024;

export interface RemoteSignerError {
  code: number;
  description: string;
}

export type PrivvalMessage =
  | { type: 'pubKeyRequest'; chainId: string }
  | { type: 'pubKeyResponse'; pubKey: Uint8Array | null; error: RemoteSignerError | null }
  | { type: 'signVoteRequest'; vote: Vote; chainId: string; skipExtensionSigning: boolean }
  | { type: 'signedVoteResponse'; vote: Vote; error: RemoteSignerError | null }
  | { type: 'signProposalRequest'; proposal: Proposal; chainId: string }
  | { type: 'signedProposalResponse'; proposal: Proposal; error: RemoteSignerError | null }
  | { type: 'pingRequest' }
  | { type: 'pingResponse' };

export type PrivvalType = PrivvalMessage['type'];

/** Oneof field numbers of privval.Message. */
const FIELD: Record<PrivvalType, number> = {
  pubKeyRequest: 1,
  pubKeyResponse: 2,
  signVoteRequest: 3,
  signedVoteResponse: 4,
  signProposalRequest: 5,
  signedProposalResponse: 6,
  pingRequest: 7,
  pingResponse: 8,
};
const TYPE_OF = new Map(Object.entries(FIELD).map(([k, v]) => [v, k as PrivvalType]));

export class PrivvalDecodeError extends Error {}

const zeroBlockId = (): BlockID => ({
  hash: new Uint8Array(),
  partSetHeader: { total: 0, hash: new Uint8Array() },
});

/** The zero Vote CometBFT puts beside an error (its Vote field is not nullable). */
export function emptyVote(): Vote {
  return {
    type: SignedMsgType.SIGNED_MSG_TYPE_UNKNOWN,
    height: 0n,
    round: 0,
    blockId: zeroBlockId(),
    timestamp: ZERO_TIME,
    validatorAddress: new Uint8Array(),
    validatorIndex: 0,
    signature: new Uint8Array(),
    extension: new Uint8Array(),
    extensionSignature: new Uint8Array(),
  };
}

export function emptyProposal(): Proposal {
  return {
    type: SignedMsgType.SIGNED_MSG_TYPE_UNKNOWN,
    height: 0n,
    round: 0,
    polRound: 0,
    blockId: zeroBlockId(),
    timestamp: ZERO_TIME,
    signature: new Uint8Array(),
  };
}

function writeError(w: BinaryWriter, error: RemoteSignerError | null): void {
  if (!error) return;
  w.uint32(18).fork();
  if (error.code !== 0) w.uint32(8).int32(error.code);
  if (error.description) w.uint32(18).string(error.description);
  w.ldelim();
}

function writeBody(w: BinaryWriter, m: PrivvalMessage): void {
  switch (m.type) {
    case 'pubKeyRequest':
      if (m.chainId) w.uint32(10).string(m.chainId);
      return;
    case 'pubKeyResponse':
      // tendermint.crypto.PublicKey, a oneof of which Beam speaks ed25519 (field 1).
      w.uint32(10).fork();
      if (m.pubKey) w.uint32(10).bytes(m.pubKey);
      w.ldelim();
      writeError(w, m.error);
      return;
    case 'signVoteRequest':
      Vote.encode(m.vote, w.uint32(10).fork()).ldelim();
      if (m.chainId) w.uint32(18).string(m.chainId);
      if (m.skipExtensionSigning) w.uint32(24).bool(true);
      return;
    case 'signedVoteResponse':
      Vote.encode(m.vote, w.uint32(10).fork()).ldelim();
      writeError(w, m.error);
      return;
    case 'signProposalRequest':
      Proposal.encode(m.proposal, w.uint32(10).fork()).ldelim();
      if (m.chainId) w.uint32(18).string(m.chainId);
      return;
    case 'signedProposalResponse':
      Proposal.encode(m.proposal, w.uint32(10).fork()).ldelim();
      writeError(w, m.error);
      return;
    case 'pingRequest':
    case 'pingResponse':
      return;
  }
}

/** A privval.Message without its length prefix. */
export function encodeMessage(m: PrivvalMessage): Uint8Array {
  const w = BinaryWriter.create();
  w.uint32((FIELD[m.type] << 3) | 2).fork();
  writeBody(w, m);
  w.ldelim();
  return w.finish();
}

/** A privval.Message with its uvarint length prefix, as it goes on the wire. */
export function frameMessage(m: PrivvalMessage): Uint8Array {
  return BinaryWriter.create().bytes(encodeMessage(m)).finish();
}

/** Reads a message's fields, skipping unknown ones as protobuf does. */
function fields(bytes: Uint8Array, each: (field: number, wire: number, r: BinaryReader) => boolean): void {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 0) throw new PrivvalDecodeError('field number 0');
    if (!each(field, wire, r)) r.skipType(wire);
  }
}

function lengthDelimited(wire: number, r: BinaryReader, what: string): Uint8Array {
  if (wire !== 2) throw new PrivvalDecodeError(`${what}: wire type ${wire}, want 2 (length-delimited)`);
  return r.bytes();
}

function readError(bytes: Uint8Array): RemoteSignerError {
  const e: RemoteSignerError = { code: 0, description: '' };
  fields(bytes, (f, wire, r) => {
    if (f === 1 && wire === 0) e.code = r.int32();
    else if (f === 2)
      e.description = new TextDecoder('utf-8', { fatal: true }).decode(
        lengthDelimited(wire, r, 'error.description'),
      );
    else return false;
    return true;
  });
  return e;
}

const MAX_INT32 = 2 ** 31 - 1;

function checkVote(vote: Vote, what: string): Vote {
  if (vote.height < 0n) throw new PrivvalDecodeError(`${what}: negative height ${vote.height}`);
  if (vote.round < 0 || vote.round > MAX_INT32)
    throw new PrivvalDecodeError(`${what}: round ${vote.round} out of range`);
  if (vote.validatorIndex < 0) throw new PrivvalDecodeError(`${what}: negative validator index`);
  return vote;
}

function checkProposal(p: Proposal, what: string): Proposal {
  if (p.height < 0n) throw new PrivvalDecodeError(`${what}: negative height ${p.height}`);
  if (p.round < 0 || p.round > MAX_INT32)
    throw new PrivvalDecodeError(`${what}: round ${p.round} out of range`);
  if (p.polRound < -1) throw new PrivvalDecodeError(`${what}: pol_round ${p.polRound} below -1`);
  return p;
}

function decodeVote(bytes: Uint8Array, what: string): Vote {
  return checkVote({ ...emptyVote(), ...Vote.decode(bytes) }, what);
}

function decodeProposal(bytes: Uint8Array, what: string): Proposal {
  return checkProposal({ ...emptyProposal(), ...Proposal.decode(bytes) }, what);
}

const utf8 = (bytes: Uint8Array) => new TextDecoder('utf-8', { fatal: true }).decode(bytes);

function decodeBody(type: PrivvalType, body: Uint8Array): PrivvalMessage {
  switch (type) {
    case 'pubKeyRequest': {
      let chainId = '';
      fields(body, (f, wire, r) => {
        if (f !== 1) return false;
        chainId = utf8(lengthDelimited(wire, r, 'chain_id'));
        return true;
      });
      return { type, chainId };
    }
    case 'pubKeyResponse': {
      let pubKey: Uint8Array | null = null;
      let error: RemoteSignerError | null = null;
      fields(body, (f, wire, r) => {
        if (f === 1) {
          fields(lengthDelimited(wire, r, 'pub_key'), (kf, kw, kr) => {
            if (kf !== 1) return false;
            pubKey = lengthDelimited(kw, kr, 'pub_key.ed25519');
            return true;
          });
        } else if (f === 2) error = readError(lengthDelimited(wire, r, 'error'));
        else return false;
        return true;
      });
      return { type, pubKey, error };
    }
    case 'signVoteRequest':
    case 'signProposalRequest': {
      let payload: Uint8Array | null = null;
      let chainId = '';
      let skipExtensionSigning = false;
      fields(body, (f, wire, r) => {
        if (f === 1) payload = lengthDelimited(wire, r, type === 'signVoteRequest' ? 'vote' : 'proposal');
        else if (f === 2) chainId = utf8(lengthDelimited(wire, r, 'chain_id'));
        else if (f === 3 && type === 'signVoteRequest' && wire === 0) skipExtensionSigning = r.bool();
        else return false;
        return true;
      });
      if (!payload)
        throw new PrivvalDecodeError(
          `${type} without its ${type === 'signVoteRequest' ? 'vote' : 'proposal'}`,
        );
      return type === 'signVoteRequest'
        ? { type, vote: decodeVote(payload, 'vote'), chainId, skipExtensionSigning }
        : { type, proposal: decodeProposal(payload, 'proposal'), chainId };
    }
    case 'signedVoteResponse':
    case 'signedProposalResponse': {
      let payload: Uint8Array = new Uint8Array();
      let error: RemoteSignerError | null = null;
      fields(body, (f, wire, r) => {
        if (f === 1) payload = lengthDelimited(wire, r, 'payload');
        else if (f === 2) error = readError(lengthDelimited(wire, r, 'error'));
        else return false;
        return true;
      });
      return type === 'signedVoteResponse'
        ? { type, vote: decodeVote(payload, 'vote'), error }
        : { type, proposal: decodeProposal(payload, 'proposal'), error };
    }
    case 'pingRequest':
    case 'pingResponse':
      return { type };
  }
}

/** Decodes one privval.Message (no length prefix); throws PrivvalDecodeError on anything malformed. */
export function decodeMessage(input: Uint8Array): PrivvalMessage {
  // Plain Uint8Array views, so decoded byte fields are the same type whatever the caller passed.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  let found: { type: PrivvalType; body: Uint8Array } | null = null;
  try {
    fields(bytes, (f, wire, r) => {
      const type = TYPE_OF.get(f);
      if (!type) return false;
      found = { type, body: lengthDelimited(wire, r, type) };
      return true;
    });
    if (!found) throw new PrivvalDecodeError('no known message in privval.Message (unknown oneof)');
    const { type, body } = found as { type: PrivvalType; body: Uint8Array };
    return decodeBody(type, body);
  } catch (error) {
    if (error instanceof PrivvalDecodeError) throw error;
    throw new PrivvalDecodeError(`malformed privval message: ${(error as Error).message}`);
  }
}

/**
 * Splits a byte stream into length-delimited frames. A length over `maxFrameBytes` or a varint
 * longer than 10 bytes is an error: the connection is to be closed.
 */
export class FrameReader {
  private buffer: Uint8Array = new Uint8Array();

  constructor(private readonly maxFrameBytes = MAX_FRAME_BYTES) {}

  /** Adds received bytes; returns every complete frame's message bytes. */
  push(chunk: Uint8Array): Uint8Array[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const frames: Uint8Array[] = [];
    for (;;) {
      const header = readUvarint(this.buffer, this.maxFrameBytes);
      if (!header) return frames;
      const end = header.offset + header.length;
      if (this.buffer.length < end) return frames;
      frames.push(this.buffer.subarray(header.offset, end));
      this.buffer = this.buffer.subarray(end);
    }
  }
}

function readUvarint(buf: Uint8Array, max: number): { length: number; offset: number } | null {
  let value = 0;
  for (let i = 0; i < Math.min(buf.length, 10); i++) {
    const byte = buf[i] as number;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if (value > max) throw new PrivvalDecodeError(`frame of ${value} bytes exceeds the ${max}-byte limit`);
    if (byte < 0x80) return { length: value, offset: i + 1 };
  }
  if (buf.length >= 10) throw new PrivvalDecodeError('frame length is not a valid uvarint');
  return null;
}
