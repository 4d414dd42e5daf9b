/** CometBFT's own test vectors (v0.38: TestVoteSignBytesTestVectors, TestPrivvalVectors), byte for byte. */
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SignedMsgType, type Vote } from 'cosmjs-types/tendermint/types/types';
import { describe, expect, it } from 'vitest';
import { ZERO_TIME, timestampFromMs, voteSignBytes } from '../../cometbft/canonical.js';
import {
  type PrivvalMessage,
  decodeMessage,
  emptyProposal,
  emptyVote,
  encodeMessage,
} from '../../cometbft/privval.js';

const vectors = JSON.parse(
  readFileSync(new URL('../fixtures/cometbft/vectors.json', import.meta.url), 'utf8'),
) as {
  voteSignBytes: {
    cases: { chainId: string; vote: Record<string, unknown>; signBytes: string }[];
  };
  privvalMessages: { cases: Record<string, string> };
};

const sha256 = (s: string) => Uint8Array.from(createHash('sha256').update(s).digest());
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const TYPES: Record<string, SignedMsgType> = {
  prevote: SignedMsgType.SIGNED_MSG_TYPE_PREVOTE,
  precommit: SignedMsgType.SIGNED_MSG_TYPE_PRECOMMIT,
};

describe('VoteSignBytes', () => {
  for (const c of vectors.voteSignBytes.cases) {
    it(`${c.chainId || '(no chain id)'} ${JSON.stringify(c.vote)}`, () => {
      const v = c.vote as { type?: string; height?: number; round?: number; extension?: string };
      const vote: Vote = {
        ...emptyVote(),
        type: v.type ? (TYPES[v.type] as SignedMsgType) : SignedMsgType.SIGNED_MSG_TYPE_UNKNOWN,
        height: BigInt(v.height ?? 0),
        round: v.round ?? 0,
        extension: v.extension ? Buffer.from(v.extension, 'hex') : new Uint8Array(),
      };
      expect(hex(voteSignBytes(c.chainId, vote))).toBe(c.signBytes);
    });
  }
});

describe('privval messages', () => {
  // GenPrivKeyFromSecret: the seed is sha256 of the secret.
  const seed = Buffer.from(sha256("it's a secret"));
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  const spki = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({
    format: 'der',
    type: 'spki',
  });
  const pubKey = Uint8Array.from(spki.subarray(spki.length - 32));
  const error = { code: 1, description: "it's a error" };
  const vote: Vote = {
    type: SignedMsgType.SIGNED_MSG_TYPE_PRECOMMIT,
    height: 3n,
    round: 2,
    blockId: {
      hash: sha256('blockID_hash'),
      partSetHeader: { total: 1_000_000, hash: sha256('blockID_part_set_header_hash') },
    },
    timestamp: timestampFromMs(Date.parse('2019-10-13T16:14:44Z')),
    validatorAddress: sha256('validator_address').subarray(0, 20),
    validatorIndex: 56789,
    signature: new Uint8Array(),
    extension: new TextEncoder().encode('extension'),
    extensionSignature: new Uint8Array(),
  };
  const messages: Record<string, PrivvalMessage> = {
    'ping request': { type: 'pingRequest' },
    'ping response': { type: 'pingResponse' },
    'pubKey request': { type: 'pubKeyRequest', chainId: '' },
    'pubKey response': { type: 'pubKeyResponse', pubKey, error: null },
    'pubKey response with error': { type: 'pubKeyResponse', pubKey: null, error },
    'Vote Request': { type: 'signVoteRequest', vote, chainId: '', skipExtensionSigning: false },
    'Vote Response': { type: 'signedVoteResponse', vote, error: null },
    'Vote Response with error': { type: 'signedVoteResponse', vote: emptyVote(), error },
  };

  it('the key is the one the vectors name', () => {
    expect(hex(pubKey)).toBe('556a436f1218d30942efe798420f51dc9b6a311b929c578257457d05c5fcf230');
  });

  it('covers every case of the vectors', () => {
    expect(Object.keys(messages).sort()).toEqual(Object.keys(vectors.privvalMessages.cases).sort());
  });

  for (const [name, message] of Object.entries(messages)) {
    it(`${name}: encodes byte for byte and decodes back`, () => {
      const expected = vectors.privvalMessages.cases[name] as string;
      expect(hex(encodeMessage(message))).toBe(expected);
      const decoded = decodeMessage(Buffer.from(expected, 'hex'));
      expect(decoded).toEqual(message);
      expect(hex(encodeMessage(decoded))).toBe(expected);
    });
  }

  it('a zero proposal beside an error has the zero time, as CometBFT writes it', () => {
    const bytes = encodeMessage({ type: 'signedProposalResponse', proposal: emptyProposal(), error });
    const decoded = decodeMessage(bytes);
    expect(decoded).toMatchObject({ type: 'signedProposalResponse', error });
    expect(decoded.type === 'signedProposalResponse' && decoded.proposal.timestamp).toEqual(ZERO_TIME);
  });
});
