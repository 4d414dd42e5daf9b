/**
 * A chain upgrade end to end in signer mode: a gov upgrade proposal, our vote from chat ([Yes] on
 * the proposal's message), the halt at the plan height (7 background validators held on the old
 * binary, so the chain waits for Beam's validator; an 8th down for a while, so the halt outlasts a
 * lease and the halt thresholds), cosmovisor switching both validator nodes to the staged binary,
 * and the chain resuming with the same signer. Beam says it in one thread, edited in place, and
 * nothing else: no fence, no failover, no alert. test/e2e/upgrade-kit.ts has the world, the steps
 * and the shared assertions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectQuietUpgrade, UpgradeWorld, upgradeThroughChat } from './upgrade-kit.js';

const world = new UpgradeWorld('signer');

beforeAll(() => world.start(), 90_000);
afterAll(() => world.stop(), 30_000);

describe('a chain upgrade in signer mode', () => {
  it('val-a becomes the signer: both daemons run under cosmovisor, the standby is refused', async () => {
    await world.promoteFirst();
    const from = world.height();
    await world.probe.signingAgain('val-a', from);
    expect(world.probe.signedBy('val-b', 0)).toEqual([]);
    expect(await world.daemonLog('val-b')).toContain('does not hold the signing lease');
  }, 120_000);

  it('proposal, vote from chat, halt, cosmovisor switch, resume: one thread and nothing else', async () => {
    const run = await upgradeThroughChat(world, { vote: 'button' });
    expect(run.vote).toMatch(/^Yes \(console:alice \(Alice\)\): tx [0-9A-F]{64}/);
    await expectQuietUpgrade(world, run);
  }, 180_000);
});
