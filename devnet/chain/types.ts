/**
 * The contract between the chain state machine (devnet/chain, pure, no I/O) and the hub process
 * that drives it (devnet/hub, devnet/node). Bytes are Uint8Array; addresses are uppercase hex
 * (consensus) or bech32 (accounts, operators); times are milliseconds since the epoch.
 */

export interface ChainParams {
  chainId: string;
  denom: string;
  bech32Prefix: string;
  slashing: {
    signedBlocksWindow: number;
    /** Fraction, e.g. 0.5. */
    minSignedPerWindow: number;
    downtimeJailMs: number;
    /** Fractions of stake slashed. */
    slashFractionDowntime: number;
    slashFractionDoubleSign: number;
  };
  gov: {
    minDeposit: string;
    votingPeriodMs: number;
    quorum: number;
    threshold: number;
    vetoThreshold: number;
    /** How long a proposal may collect its minimum deposit (default 2 × votingPeriodMs). Additive. */
    maxDepositPeriodMs?: number;
  };
  /** Base units minted as block rewards per block, split by voting power among signers. */
  blockReward: string;
  /** Minimum gas price in `denom` per gas unit (fees below are rejected as in a real node). */
  minGasPrice: number;
  maxValidators: number;
  /** Undelegated tokens are paid out after this long (default 10 s). Additive. */
  unbondingTimeMs?: number;
  /**
   * CometBFT's ABCI consensus param: from this height on, non-nil precommits carry a vote extension
   * and its signature (default 1; 0 turns extensions off). Additive.
   */
  voteExtensionsEnableHeight?: number;
}

export interface GenesisAccount {
  address: string;
  coins: { denom: string; amount: string }[];
}

export interface GenesisValidator {
  moniker: string;
  /** Bech32 account address of the operator; must be a genesis account with enough funds. */
  operatorAccount: string;
  /** Ed25519 consensus public key, 32 bytes. */
  consensusPubkey: Uint8Array;
  selfDelegation: string;
  /** Decimal fraction as a string, e.g. "0.05". */
  commissionRate: string;
}

export interface Genesis {
  params: ChainParams;
  genesisTimeMs: number;
  accounts: GenesisAccount[];
  validators: GenesisValidator[];
}

export interface CommitSig {
  /** CometBFT's BlockIDFlag: a precommit for the block (Commit) or for nil (Nil). */
  blockIdFlag: 'commit' | 'nil';
  /** Uppercase hex consensus address (first 20 bytes of sha256 of the ed25519 pubkey). */
  validatorAddress: string;
  timestampMs: number;
  /** Ed25519 signature over the canonical precommit sign bytes, verified by the hub. */
  signature: Uint8Array;
}

export interface Commit {
  height: number;
  round: number;
  blockHash: Uint8Array;
  /** Signatures in validator-set order; `null` for a validator whose precommit is missing (BlockIDFlagAbsent). */
  signatures: (CommitSig | null)[];
}

/** What a validator key signs in a round. */
export type SignedKind = 'proposal' | 'prevote' | 'precommit';

/** One of the two signatures behind double-sign evidence. */
export interface EvidenceVote {
  /** Node that sent it (devnet bookkeeping). */
  node: string;
  /** Uppercase hex hash of the block signed for; null for a nil vote. */
  blockHash: string | null;
  timestampMs: number;
  /** Base64 ed25519 signature, verified by the hub. */
  signature: string;
}

export interface DoubleSignEvidence {
  /**
   * `conflicting-votes`: CometBFT's DuplicateVoteEvidence, one key voting for two block ids (nil
   * included) at one height, round and type. `second-signer`: the devnet's stricter rule, one key
   * signing one height, round and type from two nodes, even for the same block.
   */
  kind: 'conflicting-votes' | 'second-signer';
  validatorAddress: string;
  height: number;
  round: number;
  type: SignedKind;
  timeMs: number;
  /** Ordered as CometBFT orders vote_a and vote_b: the smaller block id (nil) first. */
  votes: [EvidenceVote, EvidenceVote];
}

export interface TxResult {
  code: number;
  codespace: string;
  log: string;
  gasWanted: number;
  gasUsed: number;
  /** ABCI events, attribute keys and values as plain strings (CometBFT 0.38 style). */
  events: { type: string; attributes: { key: string; value: string; index: boolean }[] }[];
  /** Protobuf-encoded TxMsgData, as a real chain returns in `data`. */
  data: Uint8Array;
}

export interface IndexedTx {
  hash: Uint8Array;
  height: number;
  index: number;
  tx: Uint8Array;
  result: TxResult;
}

export interface BlockHeader {
  chainId: string;
  height: number;
  timeMs: number;
  lastBlockHash: Uint8Array;
  appHash: Uint8Array;
  validatorsHash: Uint8Array;
  proposerAddress: string;
}

export interface Block {
  header: BlockHeader;
  hash: Uint8Array;
  txs: Uint8Array[];
  /** The commit for height - 1 (empty at height 1). */
  lastCommit: Commit | null;
  evidence: DoubleSignEvidence[];
}

export interface ValidatorSetEntry {
  address: string;
  pubkey: Uint8Array;
  votingPower: number;
  proposerPriority: number;
}

/** A cosmos.upgrade.v1beta1.Plan (height-based; the deprecated time and client state are not kept). */
export interface UpgradePlan {
  name: string;
  height: number;
  info: string;
}

/** What x/upgrade holds: the scheduled plan, the last applied upgrade and the app (protocol) version. */
export interface UpgradeStatus {
  plan: UpgradePlan | null;
  applied: { name: string; height: number } | null;
  /** Bumped by every applied upgrade, as x/upgrade's protocol version. */
  appVersion: number;
}

/**
 * x/upgrade's state before block `height` executes (what its pre-blocker sees there), and before
 * every later block up to the next change: a node that executes blocks checks each against it.
 */
export interface UpgradeChange {
  height: number;
  status: UpgradeStatus;
}

export type AbciEventList = TxResult['events'];

export interface QueryResult {
  code: number;
  codespace: string;
  log: string;
  value: Uint8Array;
  height: number;
}

export interface CheckTxResult {
  code: number;
  codespace: string;
  log: string;
  hash: Uint8Array;
  gasWanted: number;
}

/** The chain as the hub sees it. Deterministic: all time comes in through arguments. */
export interface ChainApp {
  readonly params: ChainParams;
  /** Latest committed height (0 before the first block). */
  height(): number;
  block(height: number): Block | undefined;
  /** Validator set that signs `height` (bonded, not jailed, by power), with its proposer priorities. */
  validatorSet(height: number): ValidatorSetEntry[];
  /** The proposer of `round` at `height` (CometBFT's proposer-priority rotation). */
  proposer(height: number, round: number): string;
  /** Admits a tx to the mempool after the ante checks (decode, signature, sequence, fee); code 0 = accepted. */
  checkTx(tx: Uint8Array): CheckTxResult;
  /**
   * The block the proposer of `round` proposes for the next height: header (hash independent of its
   * own execution, as CometBFT's), the mempool's txs, `lastCommit` and `evidence`. Nothing executes.
   */
  proposeBlock(input: {
    timeMs: number;
    lastCommit: Commit | null;
    evidence: DoubleSignEvidence[];
    round: number;
  }): Block;
  /**
   * Executes a block consensus decided and appends it: upgrade plan, rewards and liveness from its
   * last commit, evidence (slash + jail + tombstone), its txs in order, end of voting periods,
   * unbonding, validator set updates; the mempool keeps (rechecked) what the block did not take.
   */
  commitBlock(block: Block): void;
  /** proposeBlock at round 0, then commitBlock (drivers without consensus). */
  produceBlock(input: { timeMs: number; lastCommit: Commit | null; evidence: DoubleSignEvidence[] }): Block;
  /** Events of a committed block outside its txs (begin and end block: liveness, slash, gov…). */
  blockEvents(height: number): AbciEventList;
  /** ABCI Info: the app version and the app hash after the latest block. */
  info(): { appVersion: number; lastBlockAppHash: Uint8Array };
  /** x/upgrade's state now: before the next block. */
  upgrade(): UpgradeStatus;
  /** x/upgrade's state before each block since genesis, as its changes (the first at height 1), oldest first. */
  upgradeHistory(): readonly UpgradeChange[];
  txResult(hash: Uint8Array): IndexedTx | undefined;
  /** Txs of one block or matching a CometBFT query subset: `tx.hash='…'`, `tx.height=N`, `message.sender='…'`. */
  searchTxs(query: string): IndexedTx[];
  /** ABCI query with gRPC paths such as `/cosmos.bank.v1beta1.Query/AllBalances`; latest state. */
  query(path: string, data: Uint8Array): QueryResult;
  /** Devnet controls (not reachable through transactions). */
  fund(address: string, coins: { denom: string; amount: string }[]): void;
  /** A proposal with its deposit paid, in voting at once; `messages` run when it passes (authority: gov). */
  submitProposal(input: {
    title: string;
    summary: string;
    proposer: string;
    votingPeriodMs?: number;
    messages?: { typeUrl: string; value: Uint8Array }[];
    nowMs: number;
  }): string;
  /** Ids of the proposals in their voting period. */
  votingProposals(): string[];
  /** A vote cast for `voter` without a tx (the hub's background validators); false if refused. */
  castVote(input: { proposalId: string; voter: string; option: number }): boolean;
  /** MsgUnjail without a tx (background validators' operators); false while it would be refused. */
  unjail(operator: string): boolean;
}
