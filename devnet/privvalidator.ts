/**
 * What signs for a node's validator, as CometBFT's types.PrivValidator: the local FilePV, or a
 * remote signer over privval when config.toml sets priv_validator_laddr.
 */
import { isAbsolute, join } from 'node:path';
import type { Proposal, Vote } from 'cosmjs-types/tendermint/types/types';
import type { NodeConfig } from './config.js';
import { FilePV } from './filepv.js';
import { SignerClient } from './signerclient.js';

export interface PrivValidator {
  readonly pubKey: Uint8Array;
  /**
   * Signs a vote (a non-nil precommit's extension too) and resolves with the signed vote, whose
   * timestamp may be an earlier one for a re-sign; rejects with why it did not sign. `signal`
   * stops retrying once the vote is no longer wanted.
   */
  signVote(chainId: string, vote: Vote, signal?: AbortSignal): Promise<Vote>;
  signProposal(chainId: string, proposal: Proposal, signal?: AbortSignal): Promise<Proposal>;
  close(): Promise<void>;
}

/** Like CometBFT's NewNode: the socket client when priv_validator_laddr is set, else the FilePV in the home. */
export async function openPrivValidator(
  config: NodeConfig,
  home: string,
  chainId: string,
): Promise<PrivValidator> {
  if (config.priv_validator_laddr) {
    try {
      return await SignerClient.start(config.priv_validator_laddr, chainId);
    } catch (error) {
      throw new Error(`error with private validator socket client: ${(error as Error).message}`);
    }
  }
  const path = (p: string) => (isAbsolute(p) ? p : join(home, p));
  return FilePV.load(path(config.priv_validator_key_file), path(config.priv_validator_state_file));
}
