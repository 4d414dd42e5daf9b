/**
 * CometBFT's proposer-priority rotation in the devnet chain: CometBFT's own test vector, newcomers
 * starting behind, and the share of blocks a 5 % validator proposes on the default network over
 * 1,000 blocks produced by the chain itself.
 */
import { toBech32 } from '@cosmjs/encoding';
import { describe, expect, it } from 'vitest';
import {
  type ValidatorSetEntry,
  createChain,
  defaultParams,
  genesisValidatorSet,
  incrementProposerPriority,
  nextValidatorSet,
  proposerOf,
} from '../../devnet/chain/index.js';
import { addressOf, generateEd25519 } from '../../devnet/keys.js';

const entry = (name: string, votingPower: number): ValidatorSetEntry => ({
  address: Buffer.from(name).toString('hex').toUpperCase(),
  pubkey: new Uint8Array(32),
  votingPower,
  proposerPriority: 0,
});
const nameOf = (address: string) => Buffer.from(address, 'hex').toString();

describe('proposer priority', () => {
  it("follows CometBFT's TestProposerSelection1", () => {
    let set = genesisValidatorSet([entry('foo', 1000), entry('bar', 300), entry('baz', 330)]);
    const proposers: string[] = [];
    for (let i = 0; i < 99; i++) {
      proposers.push(nameOf(set.proposer));
      set = incrementProposerPriority(set, 1);
    }
    expect(proposers.join(' ')).toBe(
      'foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar foo baz foo foo bar foo baz foo foo bar foo baz foo foo foo baz bar foo foo foo baz foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar foo baz foo foo bar foo baz foo foo',
    );
  });

  it('orders by power then address, starts a newcomer 1.125 × the total behind, and rotates rounds', () => {
    const set = genesisValidatorSet([entry('b', 10), entry('a', 10), entry('c', 20)]);
    expect(set.validators.map((v) => nameOf(v.address))).toEqual(['c', 'a', 'b']);
    const grown = nextValidatorSet(set, [entry('a', 10), entry('b', 10), entry('c', 20), entry('d', 40)]);
    // -(40 + 40/8) before the increment, which shifts all by the average and adds each power.
    const d = grown.validators.find((v) => nameOf(v.address) === 'd');
    expect(d?.proposerPriority).toBeLessThan(0);
    expect(nameOf(grown.proposer)).not.toBe('d');
    // Round r's proposer is the set incremented r times, and the rotation covers everyone.
    const rounds = Array.from({ length: 8 }, (_, r) => nameOf(proposerOf(grown, r)));
    expect(rounds[0]).toBe(nameOf(grown.proposer));
    expect(new Set(rounds)).toEqual(new Set(['a', 'b', 'c', 'd']));
  });

  it('gives a 5 % validator its share of 1,000 blocks on the default network, within 20 %', () => {
    const keys = Array.from({ length: 21 }, () => generateEd25519());
    const accounts = keys.map((_, i) => toBech32('cosmos', new Uint8Array(20).fill(i + 1)));
    const chain = createChain({
      params: defaultParams({ chainId: 'proposer-1' }),
      genesisTimeMs: 0,
      accounts: accounts.map((address) => ({ address, coins: [{ denom: 'stake', amount: '100000000' }] })),
      validators: keys.map((k, i) => ({
        moniker: `v${i}`,
        operatorAccount: accounts[i] ?? '',
        consensusPubkey: k.publicKey,
        selfDelegation: i === 0 ? '100000000' : '95000000',
        commissionRate: '0.05',
      })),
    });
    const beam = addressOf(keys[0]!.publicKey);
    const counts = new Map<string, number>();
    for (let h = 1; h <= 1000; h++) {
      const lastCommit =
        h === 1
          ? null
          : {
              height: h - 1,
              round: 0,
              blockHash: chain.block(h - 1)!.hash,
              signatures: chain.validatorSet(h - 1).map((v) => ({
                blockIdFlag: 'commit' as const,
                validatorAddress: v.address,
                timestampMs: h,
                signature: new Uint8Array(64),
              })),
            };
      const proposer = chain.produceBlock({ timeMs: h * 1000, lastCommit, evidence: [] }).header
        .proposerAddress;
      counts.set(proposer, (counts.get(proposer) ?? 0) + 1);
    }
    const share = (counts.get(beam) ?? 0) / 1000;
    const power = chain.validatorSet(1000).find((v) => v.address === beam)!.votingPower;
    const total = chain.validatorSet(1000).reduce((s, v) => s + v.votingPower, 0);
    expect(Math.abs(share - power / total) / (power / total)).toBeLessThan(0.2);
    expect(counts.size).toBe(21);
  });
});
