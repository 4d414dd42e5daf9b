/**
 * CometBFT's validator set as consensus keeps it (types/validator_set.go): validators ordered by
 * power (then address), proposer priorities that rise by voting power each round, and the proposer
 * of a height and round. Integer arithmetic as Go's: division truncates, the average is floored.
 */
import type { ValidatorSetEntry } from './types.js';

export interface ValidatorSet {
  /** By voting power, descending, then address, ascending. */
  validators: ValidatorSetEntry[];
  /** Address of the round-0 proposer of the height this set signs ('' for an empty set). */
  proposer: string;
}

/** CometBFT's PriorityWindowSizeFactor: priorities stay within 2 × the total power of each other. */
const PRIORITY_WINDOW = 2;

const copyOf = (validators: ValidatorSetEntry[]) => validators.map((v) => ({ ...v }));
const totalPower = (validators: ValidatorSetEntry[]) => validators.reduce((s, v) => s + v.votingPower, 0);

function byPower(a: ValidatorSetEntry, b: ValidatorSetEntry): number {
  if (a.votingPower !== b.votingPower) return b.votingPower - a.votingPower;
  return a.address < b.address ? -1 : 1;
}

/** The higher priority wins; on a tie, the smaller address. */
function mostPriority(validators: ValidatorSetEntry[]): ValidatorSetEntry | undefined {
  let best: ValidatorSetEntry | undefined;
  for (const v of validators) {
    if (
      !best ||
      v.proposerPriority > best.proposerPriority ||
      (v.proposerPriority === best.proposerPriority && v.address < best.address)
    )
      best = v;
  }
  return best;
}

function rescale(validators: ValidatorSetEntry[], diffMax: number): void {
  if (diffMax <= 0 || validators.length === 0) return;
  const priorities = validators.map((v) => v.proposerPriority);
  const diff = Math.max(...priorities) - Math.min(...priorities);
  const ratio = Math.floor((diff + diffMax - 1) / diffMax);
  if (diff > diffMax) for (const v of validators) v.proposerPriority = Math.trunc(v.proposerPriority / ratio);
}

function shiftByAverage(validators: ValidatorSetEntry[]): void {
  if (validators.length === 0) return;
  const average = Math.floor(validators.reduce((s, v) => s + v.proposerPriority, 0) / validators.length);
  for (const v of validators) v.proposerPriority -= average;
}

/** IncrementProposerPriority(times) on a copy: the new priorities and the last round's proposer. */
export function incrementProposerPriority(set: ValidatorSet, times: number): ValidatorSet {
  const validators = copyOf(set.validators);
  if (validators.length === 0) return { validators, proposer: '' };
  const total = totalPower(validators);
  rescale(validators, PRIORITY_WINDOW * total);
  shiftByAverage(validators);
  let proposer = '';
  for (let i = 0; i < times; i++) {
    for (const v of validators) v.proposerPriority += v.votingPower;
    const most = mostPriority(validators) as ValidatorSetEntry;
    most.proposerPriority -= total;
    proposer = most.address;
  }
  return { validators, proposer };
}

/** The proposer of round `round` at the height `set` signs (CopyIncrementProposerPriority(round)). */
export function proposerOf(set: ValidatorSet, round: number): string {
  return round === 0 ? set.proposer : incrementProposerPriority(set, round).proposer;
}

/**
 * UpdateWithChangeSet: `elected` is the whole new set (address and power); validators that left are
 * removed, new ones start at -1.125 × the total power (so unbonding and rebonding cannot reset a
 * low priority), the others keep theirs; then priorities are rescaled and centred.
 */
function applyChanges(current: ValidatorSetEntry[], elected: ValidatorSetEntry[]): ValidatorSetEntry[] {
  const before = new Map(current.map((v) => [v.address, v]));
  const changed = elected.filter((e) => before.get(e.address)?.votingPower !== e.votingPower);
  const removed = current.filter((v) => !elected.some((e) => e.address === v.address));
  if (changed.length === 0 && removed.length === 0) return copyOf(current);
  // Total power with the updates applied and before the removals, as CometBFT computes it.
  const updatedTotal =
    totalPower(current) +
    changed.reduce((s, e) => s + e.votingPower - (before.get(e.address)?.votingPower ?? 0), 0);
  const newcomerPriority = -(updatedTotal + Math.floor(updatedTotal / 8));
  const validators = elected.map((e) => ({
    ...e,
    proposerPriority: before.get(e.address)?.proposerPriority ?? newcomerPriority,
  }));
  if (validators.length === 0) return validators;
  rescale(validators, PRIORITY_WINDOW * totalPower(validators));
  shiftByAverage(validators);
  return validators.sort(byPower);
}

/** NewValidatorSet: the genesis set, incremented once. */
export function genesisValidatorSet(elected: ValidatorSetEntry[]): ValidatorSet {
  const validators = applyChanges([], elected);
  return validators.length === 0
    ? { validators, proposer: '' }
    : incrementProposerPriority({ validators, proposer: '' }, 1);
}

/** The set for the next height: this one with the end-block changes applied, incremented once. */
export function nextValidatorSet(set: ValidatorSet, elected: ValidatorSetEntry[]): ValidatorSet {
  return incrementProposerPriority({ validators: applyChanges(set.validators, elected), proposer: '' }, 1);
}
