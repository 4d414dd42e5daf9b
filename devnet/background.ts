/**
 * The background validators: the rest of the network, run inside the hub. Each holds a real
 * ed25519 key and signs what a commit shows of it, its precommit, over CometBFT's canonical sign
 * bytes (their proposals and prevotes are never observable, so they are not signed). Chaos
 * controls take them down (absent from commits), partition them from the proposer (they never see
 * the proposal and precommit nil), or hold them on the old binary at an upgrade (they stop there,
 * as an unupgraded daemon does; by default they switch at once). Their operators vote on every
 * proposal by one policy, and unjail as soon as the jail time is over.
 */
import { type KeyObject, createPrivateKey, sign } from 'node:crypto';
import { SignedMsgType, type Vote } from 'cosmjs-types/tendermint/types/types';
import { timestampFromMs, voteSignBytes } from '../cometbft/canonical.js';
import type { ChainApp, CommitSig, UpgradeStatus } from './chain/types.js';
import { addressOf } from './keys.js';
import { blockIdOf, nilBlockId } from './signatures.js';
import { type Binary, upgradeHalt } from './upgradecheck.js';

export type BackgroundState = 'up' | 'down' | 'partitioned';
export const VOTE_POLICIES = ['yes', 'abstain', 'no', 'no_with_veto', 'none'] as const;
export type VotePolicy = (typeof VOTE_POLICIES)[number];

export interface BackgroundValidator {
  name: string;
  /** 32-byte ed25519 seed and public key. */
  seed: Uint8Array;
  publicKey: Uint8Array;
  /** Bech32 operator account (votes) and valoper (unjail). */
  account: string;
  operator: string;
}

export interface BackgroundSummary {
  name: string;
  address: string;
  operator: string;
  state: BackgroundState;
  /** The binary it runs (its version). */
  version: string;
  /** Kept on its binary at an upgrade (a chaos control). */
  held: boolean;
}

interface Member extends BackgroundSummary {
  account: string;
  key: KeyObject;
  binary: Binary;
}

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const OPTION: Record<Exclude<VotePolicy, 'none'>, number> = { yes: 1, abstain: 2, no: 3, no_with_veto: 4 };

export class BackgroundValidators {
  votePolicy: VotePolicy = 'yes';
  private readonly members: Member[];
  private readonly voted = new Set<string>();

  constructor(
    validators: BackgroundValidator[],
    private readonly chainId: string,
    genesisBinary: Binary,
  ) {
    this.members = validators.map((v) => ({
      name: v.name,
      address: addressOf(v.publicKey),
      operator: v.operator,
      account: v.account,
      // A KeyObject per validator: building one per signature would cost more than the signature.
      key: createPrivateKey({
        key: Buffer.concat([PKCS8_ED25519_PREFIX, v.seed]),
        format: 'der',
        type: 'pkcs8',
      }),
      state: 'up',
      held: false,
      binary: genesisBinary,
      version: genesisBinary.version,
    }));
  }

  list(): BackgroundSummary[] {
    return this.members.map(({ name, address, operator, state, version, held }) => ({
      name,
      address,
      operator,
      state,
      version,
      held,
    }));
  }

  has(address: string): boolean {
    return this.members.some((m) => m.address === address);
  }

  /** Takes `count` running validators down (by name); returns them. */
  down(count: number): string[] {
    return this.move('up', 'down', count);
  }

  /** Brings `count` (default all) down validators back; returns them. */
  up(count?: number): string[] {
    return this.move('down', 'up', count);
  }

  /** Cuts `count` running validators off from the proposer; returns them. */
  partition(count: number): string[] {
    return this.move('up', 'partitioned', count);
  }

  /** Reconnects `count` (default all) partitioned validators; returns them. */
  heal(count?: number): string[] {
    return this.move('partitioned', 'up', count);
  }

  private move(from: BackgroundState, to: BackgroundState, count?: number): string[] {
    const moved = this.members.filter((m) => m.state === from).slice(0, count);
    for (const m of moved) m.state = to;
    return moved.map((m) => m.name);
  }

  /** Keeps `count` more validators on their binary at the next upgrade; returns them. */
  hold(count: number): string[] {
    const held = this.members.filter((m) => !m.held).slice(0, count);
    for (const m of held) m.held = true;
    return held.map((m) => m.name);
  }

  /** Lets every held validator upgrade (at its next round); returns them. */
  release(): string[] {
    const released = this.members.filter((m) => m.held);
    for (const m of released) m.held = false;
    return released.map((m) => m.name);
  }

  /**
   * Whether the validator runs a binary that executes `height`. One not held switches at once to
   * the binary the chain asks for (the due plan's, else the last applied upgrade's).
   */
  private runs(m: Member, upgrade: UpgradeStatus, height: number): boolean {
    if (!upgradeHalt(m.binary, upgrade, height)) return true;
    if (m.held) return false;
    const due = upgrade.plan && upgrade.plan.height <= height ? upgrade.plan.name : upgrade.applied?.name;
    if (!due) return false;
    m.binary = { version: due, upgrade: due };
    m.version = due;
    return !upgradeHalt(m.binary, upgrade, height);
  }

  /** Whether `address` is a background validator able to propose now (up, and its binary runs the height). */
  proposes(address: string, upgrade: UpgradeStatus, height: number): boolean {
    const m = this.members.find((x) => x.address === address);
    return !!m && m.state === 'up' && this.runs(m, upgrade, height);
  }

  /**
   * Precommits once the round's proposal is out: a validator that is up precommits the block, a
   * partitioned one nil (it never saw the proposal); a down or halted one sends nothing.
   */
  precommits(round: {
    height: number;
    round: number;
    blockHash: Uint8Array;
    upgrade: UpgradeStatus;
    timeMs: number;
  }): CommitSig[] {
    return this.members.flatMap((m) => {
      if (m.state === 'down' || !this.runs(m, round.upgrade, round.height)) return [];
      const forBlock = m.state === 'up';
      const vote: Vote = {
        type: SignedMsgType.SIGNED_MSG_TYPE_PRECOMMIT,
        height: BigInt(round.height),
        round: round.round,
        blockId: forBlock ? blockIdOf(round.blockHash) : nilBlockId(),
        timestamp: timestampFromMs(round.timeMs),
        validatorAddress: Buffer.from(m.address, 'hex'),
        validatorIndex: 0,
        signature: new Uint8Array(),
        extension: new Uint8Array(),
        extensionSignature: new Uint8Array(),
      };
      const signature = Uint8Array.from(sign(null, voteSignBytes(this.chainId, vote), m.key));
      return [
        {
          blockIdFlag: forBlock ? ('commit' as const) : ('nil' as const),
          validatorAddress: m.address,
          timestampMs: round.timeMs,
          signature,
        },
      ];
    });
  }

  /** Operators vote on each proposal in voting once, by the policy in force when they first see it. */
  vote(chain: ChainApp): void {
    if (this.votePolicy === 'none') return;
    const option = OPTION[this.votePolicy];
    for (const proposalId of chain.votingProposals()) {
      if (this.voted.has(proposalId)) continue;
      this.voted.add(proposalId);
      for (const m of this.members) chain.castVote({ proposalId, voter: m.account, option });
    }
  }

  /** Operators of running validators outside the set send MsgUnjail as soon as it is accepted. */
  unjail(chain: ChainApp, set: ReadonlySet<string>): void {
    for (const m of this.members) if (m.state !== 'down' && !set.has(m.address)) chain.unjail(m.operator);
  }
}
