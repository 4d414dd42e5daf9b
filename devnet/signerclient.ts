/**
 * The privval socket client, CometBFT's SignerClient behind its RetrySignerClient: a refusal
 * (RemoteSignerError) comes back at once, any other failure is retried every 100 ms, 50 times.
 * Each answer is checked before use (CometBFT finds a bad one only when it adds its own vote):
 * the message asked for, timestamp aside, with signatures valid for the signer's pubkey.
 */
import type { Proposal, Vote } from 'cosmjs-types/tendermint/types/types';
import type { PrivValidator } from './privvalidator.js';
import { SignerListener } from './signerlistener.js';
import {
  sameBlockId,
  sameBytes,
  validExtensionSignature,
  validProposalSignature,
  validVoteSignature,
} from './signatures.js';

/** A refusal by the signer; the message is CometBFT's. */
export class RemoteSignerError extends Error {
  constructor(
    readonly code: number,
    readonly description: string,
  ) {
    super(`signerEndpoint returned error #${code}: ${description}`);
  }
}

/** createAndStartPrivValidatorSocketClient's retry policy. */
const RETRIES = 50;
const RETRY_DELAY_MS = 100;
const ED25519_PUBKEY_BYTES = 32;
/** CometBFT's ErrUnexpectedResponse: the reply is not the response to the request. */
const UNEXPECTED_RESPONSE = 'empty response';

async function retried<T>(
  what: string,
  signal: AbortSignal | undefined,
  attempt: () => Promise<T>,
): Promise<T> {
  let last = new Error('not attempted');
  for (let i = 0; i < RETRIES; i++) {
    try {
      return await attempt();
    } catch (error) {
      if (error instanceof RemoteSignerError) throw error;
      last = error as Error;
    }
    // Consensus moved on to a newer height: this message is no longer wanted.
    if (signal?.aborted) throw last;
    await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
  }
  throw new Error(`exhausted all attempts to sign ${what}: ${last.message}`);
}

function differences(checks: Record<string, boolean>): string[] {
  return Object.entries(checks).flatMap(([field, same]) => (same ? [] : [field]));
}

/** Why a signed vote may not be used, or null. */
function voteAnswerProblem(chainId: string, pubKey: Uint8Array, asked: Vote, got: Vote): string | null {
  const changed = differences({
    type: got.type === asked.type,
    height: got.height === asked.height,
    round: got.round === asked.round,
    block_id: sameBlockId(got.blockId, asked.blockId),
    validator_address: sameBytes(got.validatorAddress, asked.validatorAddress),
    validator_index: got.validatorIndex === asked.validatorIndex,
    extension: sameBytes(got.extension, asked.extension),
  });
  if (changed.length > 0) return `the signed vote differs from the request in ${changed.join(', ')}`;
  if (!validVoteSignature(chainId, pubKey, got)) return 'invalid signature';
  if (got.extensionSignature.length > 0 && !validExtensionSignature(chainId, pubKey, got))
    return 'invalid extension signature';
  return null;
}

function proposalAnswerProblem(
  chainId: string,
  pubKey: Uint8Array,
  asked: Proposal,
  got: Proposal,
): string | null {
  const changed = differences({
    type: got.type === asked.type,
    height: got.height === asked.height,
    round: got.round === asked.round,
    pol_round: got.polRound === asked.polRound,
    block_id: sameBlockId(got.blockId, asked.blockId),
  });
  if (changed.length > 0) return `the signed proposal differs from the request in ${changed.join(', ')}`;
  if (!validProposalSignature(chainId, pubKey, got)) return 'invalid signature';
  return null;
}

export class SignerClient implements PrivValidator {
  private constructor(
    private readonly listener: SignerListener,
    readonly pubKey: Uint8Array,
  ) {}

  /** Listens and asks the signer's pubkey once (no retry), as CometBFT does before the node starts. */
  static async start(laddr: string, chainId: string): Promise<SignerClient> {
    let listener: SignerListener;
    try {
      listener = await SignerListener.listen(laddr);
    } catch (error) {
      throw new Error(`failed to start private validator: ${(error as Error).message}`);
    }
    try {
      return new SignerClient(listener, await SignerClient.pubKeyOf(listener, chainId));
    } catch (error) {
      await listener.close();
      throw new Error(`can't get pubkey: ${(error as Error).message}`);
    }
  }

  private static async pubKeyOf(listener: SignerListener, chainId: string): Promise<Uint8Array> {
    let reply: Awaited<ReturnType<SignerListener['request']>>;
    try {
      reply = await listener.request({ type: 'pubKeyRequest', chainId });
    } catch (error) {
      throw new Error(`send: ${(error as Error).message}`);
    }
    if (reply.type !== 'pubKeyResponse') throw new Error(UNEXPECTED_RESPONSE);
    if (reply.error) throw new RemoteSignerError(reply.error.code, reply.error.description);
    if (!reply.pubKey) throw new Error('fromproto: key type <nil> is not supported');
    if (reply.pubKey.length !== ED25519_PUBKEY_BYTES)
      throw new Error(
        `invalid size for PubKeyEd25519. Got ${reply.pubKey.length}, expected ${ED25519_PUBKEY_BYTES}`,
      );
    return reply.pubKey;
  }

  async signVote(chainId: string, vote: Vote, signal?: AbortSignal): Promise<Vote> {
    const signed = await retried('vote', signal, async () => {
      const reply = await this.listener.request({
        type: 'signVoteRequest',
        vote,
        chainId,
        skipExtensionSigning: false,
      });
      if (reply.type !== 'signedVoteResponse') throw new Error(UNEXPECTED_RESPONSE);
      if (reply.error) throw new RemoteSignerError(reply.error.code, reply.error.description);
      return reply.vote;
    });
    const problem = voteAnswerProblem(chainId, this.pubKey, vote, signed);
    if (problem) throw new Error(`remote signer's answer rejected: ${problem}`);
    return signed;
  }

  async signProposal(chainId: string, proposal: Proposal, signal?: AbortSignal): Promise<Proposal> {
    const signed = await retried('proposal', signal, async () => {
      const reply = await this.listener.request({ type: 'signProposalRequest', proposal, chainId });
      if (reply.type !== 'signedProposalResponse') throw new Error(UNEXPECTED_RESPONSE);
      if (reply.error) throw new RemoteSignerError(reply.error.code, reply.error.description);
      return reply.proposal;
    });
    const problem = proposalAnswerProblem(chainId, this.pubKey, proposal, signed);
    if (problem) throw new Error(`remote signer's answer rejected: ${problem}`);
    return signed;
  }

  close(): Promise<void> {
    return this.listener.close();
  }
}
