/**
 * A validator node's part in each height the hub announces, in CometBFT's order: the proposer
 * signs the proposal, then the node signs its prevote and its precommit (a non-nil precommit with
 * the app's vote extension). A node that saw no proposal (partitioned) votes nil. A failed
 * signature is logged as CometBFT logs it and that message is missed; the node carries on.
 * Heights are taken one at a time: a newer one replaces any not yet started and cuts the one in
 * progress short (no more retries, no later steps), as the chain has moved on without it.
 */
import { Proposal, SignedMsgType, Vote } from 'cosmjs-types/tendermint/types/types';
import { timestampFromMs } from '../cometbft/canonical.js';
import * as z from 'zod';
import { b64 } from './cometjson.js';
import { cometLog, voteString } from './cometlog.js';
import type { PrivValidator } from './privvalidator.js';
import { blockIdOf, isBlockPrecommit, nilBlockId } from './signatures.js';
import { UpgradeStatusSchema } from './upgradecheck.js';

const hexBytes = z
  .string()
  .regex(/^([0-9A-Fa-f]{2})+$/, 'must be hex')
  .transform((s) => Uint8Array.from(Buffer.from(s, 'hex')));

/** The hub's push for a new height. */
export const RoundPush = z.object({
  t: z.literal('round'),
  height: z.number().int().positive(),
  round: z.number().int().nonnegative(),
  validatorIndex: z.number().int().nonnegative(),
  /** The proposed block; null when this node saw no proposal: it votes nil. */
  block: z.object({ hash: hexBytes }).nullable(),
  /** This node's validator is the height's proposer. */
  propose: z.boolean(),
  /** The app's vote extension (base64) for a non-nil precommit; null while extensions are off. */
  extension: z.string().base64().nullable(),
  /** x/upgrade's state before this height: the node's binary checks it as the SDK's pre-blocker does. */
  upgrade: UpgradeStatusSchema,
});
export type RoundPush = z.infer<typeof RoundPush>;

export interface ConsensusOptions {
  chainId: string;
  pv: PrivValidator;
  /** The validator's address, 20 bytes. */
  address: Uint8Array;
  /** Hands a signed message to the hub. */
  send(message: { m: 'vote'; vote: string } | { m: 'proposal'; proposal: string }): void;
  /** CometBFT panics on a malformed signed vote; the node exits with this message. */
  panic(message: string): void;
}

const empty = () => new Uint8Array();

/**
 * SignAndCheckVote's non-recoverable cases: an extension signature on anything but a non-nil
 * precommit, or none on a non-nil precommit while extensions are on.
 */
function extensionProblem(vote: Vote, extensionsOn: boolean): string | null {
  const hasSignature = vote.extensionSignature.length > 0;
  const blockPrecommit = isBlockPrecommit(vote);
  if (!(hasSignature && !blockPrecommit) && !(extensionsOn && blockPrecommit && !hasSignature)) return null;
  return `extensions must be present IFF vote is a non-nil Precommit; extension signature: ${Buffer.from(vote.extensionSignature).toString('hex').toUpperCase()}`;
}

export class Consensus {
  private next: RoundPush | null = null;
  private current: AbortController | null = null;

  constructor(private readonly o: ConsensusOptions) {}

  onRound(push: RoundPush): void {
    this.next = push;
    // Retries of the height in progress stop: consensus moved on.
    this.current?.abort();
    if (!this.current) void this.drain();
  }

  private async drain(): Promise<void> {
    while (this.next) {
      const push = this.next;
      this.next = null;
      this.current = new AbortController();
      try {
        await this.takePart(push, this.current.signal);
      } catch (error) {
        cometLog('error', 'consensus failure', { module: 'consensus', err: (error as Error).message });
      }
    }
    this.current = null;
  }

  private async takePart(push: RoundPush, signal: AbortSignal): Promise<void> {
    const blockId = push.block ? blockIdOf(push.block.hash) : nilBlockId();
    if (push.propose && push.block) await this.propose(push, blockId, signal);
    for (const type of [SignedMsgType.SIGNED_MSG_TYPE_PREVOTE, SignedMsgType.SIGNED_MSG_TYPE_PRECOMMIT]) {
      if (signal.aborted) return;
      await this.vote(push, type, blockId, signal);
    }
  }

  private async propose(push: RoundPush, blockId: Proposal['blockId'], signal: AbortSignal): Promise<void> {
    const proposal: Proposal = {
      type: SignedMsgType.SIGNED_MSG_TYPE_PROPOSAL,
      height: BigInt(push.height),
      round: push.round,
      polRound: -1,
      blockId,
      timestamp: timestampFromMs(Date.now()),
      signature: empty(),
    };
    try {
      const signed = await this.o.pv.signProposal(this.o.chainId, proposal, signal);
      this.o.send({ m: 'proposal', proposal: b64(Proposal.encode(signed).finish()) });
    } catch (error) {
      cometLog('error', 'propose step; failed signing proposal', {
        module: 'consensus',
        height: push.height,
        round: push.round,
        err: (error as Error).message,
      });
    }
  }

  private async vote(
    push: RoundPush,
    type: SignedMsgType,
    blockId: Vote['blockId'],
    signal: AbortSignal,
  ): Promise<void> {
    const extensionsOn = push.extension !== null;
    const vote: Vote = {
      type,
      height: BigInt(push.height),
      round: push.round,
      blockId,
      timestamp: timestampFromMs(Date.now()),
      validatorAddress: this.o.address,
      validatorIndex: push.validatorIndex,
      signature: empty(),
      extension: empty(),
      extensionSignature: empty(),
    };
    if (extensionsOn && isBlockPrecommit(vote))
      vote.extension = Uint8Array.from(Buffer.from(push.extension ?? '', 'base64'));
    let signed: Vote;
    try {
      signed = await this.o.pv.signVote(this.o.chainId, vote, signal);
    } catch (error) {
      cometLog('error', 'failed signing vote', {
        module: 'consensus',
        height: push.height,
        round: push.round,
        vote: voteString(vote),
        err: (error as Error).message,
      });
      return;
    }
    const problem = extensionProblem(signed, extensionsOn);
    if (problem)
      return this.o.panic(`non-recoverable error when signing vote ${voteString(vote)}: ${problem}`);
    // With extensions off the signer's extension signature is dropped, as SignAndCheckVote does.
    if (!extensionsOn) signed.extensionSignature = empty();
    this.o.send({ m: 'vote', vote: b64(Vote.encode(signed).finish()) });
  }
}
