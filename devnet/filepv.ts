/**
 * CometBFT's FilePV: the validator key from priv_validator_key.json and the last-sign state in
 * priv_validator_state.json. A signature leaves only once its state is on disk; at the height,
 * round and step last signed it answers only for the same data (the stored signature, with the
 * stored timestamp when only the time differs), as CometBFT's FilePV does after a crash.
 */
import { existsSync } from 'node:fs';
import type { Timestamp } from 'cosmjs-types/google/protobuf/timestamp';
import type { Proposal, Vote } from 'cosmjs-types/tendermint/types/types';
import {
  PROPOSAL_TIMESTAMP_FIELD,
  STEP_PROPOSE,
  VOTE_TIMESTAMP_FIELD,
  proposalSignBytes,
  signedTimestamp,
  voteExtensionSignBytes,
  voteSignBytes,
  voteStep,
} from '../cometbft/canonical.js';
import { b64, hex } from './cometjson.js';
import { readJsonFile } from './jsonfile.js';
import {
  type Ed25519Key,
  PrivValidatorKeyFile,
  addressOf,
  keyFromPrivKeyValue,
  signEd25519,
} from './keys.js';
import type { PrivValidator } from './privvalidator.js';
import {
  INITIAL_STATE,
  type PrivValidatorState,
  checkHRS,
  readPrivState,
  writePrivState,
} from './privstate.js';
import { isBlockPrecommit } from './signatures.js';

export class FilePV implements PrivValidator {
  readonly pubKey: Uint8Array;

  private constructor(
    private readonly key: Ed25519Key,
    private readonly statePath: string,
    private state: PrivValidatorState,
  ) {
    this.pubKey = key.publicKey;
  }

  /** Loads the key and the sign state (a missing state file starts at height 0). */
  static load(keyPath: string, statePath: string): FilePV {
    const file = readJsonFile(keyPath, PrivValidatorKeyFile);
    const key = keyFromPrivKeyValue(file.priv_key.value);
    if (file.address !== addressOf(key.publicKey))
      throw new Error(`${keyPath}: address does not match the key`);
    if (!existsSync(statePath)) writePrivState(statePath, INITIAL_STATE);
    return new FilePV(key, statePath, readPrivState(statePath));
  }

  async signVote(chainId: string, vote: Vote): Promise<Vote> {
    const height = Number(vote.height);
    const step = voteStep(vote.type);
    const sameHRS = checkHRS(this.state, height, vote.round, step);
    // Extensions are not deterministic: a non-nil precommit's is signed afresh every time.
    let extensionSignature: Uint8Array = new Uint8Array();
    if (isBlockPrecommit(vote))
      extensionSignature = signEd25519(this.key, voteExtensionSignBytes(chainId, vote));
    else if (vote.extension.length > 0)
      throw new Error('unexpected vote extension - extensions are only allowed in non-nil precommits');
    if (sameHRS) {
      const timestamp = this.lastTimestamp(VOTE_TIMESTAMP_FIELD, (t) =>
        voteSignBytes(chainId, { ...vote, timestamp: t }),
      );
      return { ...vote, timestamp, signature: this.lastSignature(), extensionSignature };
    }
    const signature = this.signAndSave(height, vote.round, step, voteSignBytes(chainId, vote));
    return { ...vote, signature, extensionSignature };
  }

  async signProposal(chainId: string, proposal: Proposal): Promise<Proposal> {
    const height = Number(proposal.height);
    if (checkHRS(this.state, height, proposal.round, STEP_PROPOSE)) {
      const timestamp = this.lastTimestamp(PROPOSAL_TIMESTAMP_FIELD, (t) =>
        proposalSignBytes(chainId, { ...proposal, timestamp: t }),
      );
      return { ...proposal, timestamp, signature: this.lastSignature() };
    }
    const signature = this.signAndSave(
      height,
      proposal.round,
      STEP_PROPOSE,
      proposalSignBytes(chainId, proposal),
    );
    return { ...proposal, signature };
  }

  async close(): Promise<void> {}

  /**
   * A re-sign at the last height/round/step: the stored timestamp when the message equals the last
   * one signed once given that timestamp (CometBFT's "only differ by timestamp"), else a refusal.
   */
  private lastTimestamp(field: number, signBytesAt: (t: Timestamp) => Uint8Array): Timestamp {
    const last = Buffer.from(this.state.signbytes ?? '', 'hex');
    const timestamp = signedTimestamp(last, field);
    if (!timestamp || !last.equals(signBytesAt(timestamp))) throw new Error('conflicting data');
    return timestamp;
  }

  private lastSignature(): Uint8Array {
    return Uint8Array.from(Buffer.from(this.state.signature ?? '', 'base64'));
  }

  private signAndSave(height: number, round: number, step: number, signBytes: Uint8Array): Uint8Array {
    const signature = signEd25519(this.key, signBytes);
    const state = {
      height: String(height),
      round,
      step,
      signature: b64(signature),
      signbytes: hex(signBytes),
    };
    // On disk before the signature leaves: a crash after this line can only lose a vote.
    writePrivState(this.statePath, state);
    this.state = state;
    return signature;
  }
}
