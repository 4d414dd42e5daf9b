/**
 * A chain upgrade end to end in file mode, as upgrade.signer.test.ts (a gov upgrade proposal, our
 * vote typed in chat, the halt with 7 background validators held on the old binary and an 8th down
 * for a while, cosmovisor switching both validator nodes, the chain resuming with the same signer,
 * one thread and nothing else), with the key file in the holder's daemon home. Its new binary starts
 * right after its own signatures below the plan height: only because its pilot lowered
 * double_sign_check_height to 0 for the upgrade (and raised it back once past it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECK_HEIGHT, expectQuietUpgrade, UpgradeWorld, upgradeThroughChat } from './upgrade-kit.js';

const world = new UpgradeWorld('file');

beforeAll(() => world.start(), 90_000);
afterAll(() => world.stop(), 30_000);

describe('a chain upgrade in file mode', () => {
  it('val-a becomes the signer: the key file moves into its home, its daemon restarts under cosmovisor', async () => {
    await world.promoteFirst();
    expect(world.report('val-a')?.custody).toMatchObject({ mode: 'file', holdsValidatorKey: true });
    expect(await world.configCheckHeight('val-a')).toBe(CHECK_HEIGHT);
    const from = world.height();
    await world.probe.signingAgain('val-a', from);
    expect(world.probe.signedBy('val-b', 0)).toEqual([]);
  }, 120_000);

  it('proposal, vote typed in chat, halt, cosmovisor switch, resume: one thread and nothing else', async () => {
    const run = await upgradeThroughChat(world, { vote: 'typed' });
    expect(run.vote).toMatch(/^Yes \(console:alice \(Alice\)\): tx [0-9A-F]{64}/);
    await expectQuietUpgrade(world, run);

    // double_sign_check_height: 0 from the plan until past the upgrade, then the configured value.
    expect(run.watch.checkHeights.get('val-a')).toEqual([CHECK_HEIGHT, '0', CHECK_HEIGHT]);
    const height = run.proposal.height;
    // The holder signed right up to the halt: with the check on, its new binary would refuse to start.
    expect(world.probe.lastSignedAtOrBelow(height - 1)).toBeGreaterThan(height - 1 - Number(CHECK_HEIGHT));
    // cosmovisor restarted it into the new binary, which started and applied the upgrade.
    const log = await world.daemonLog('val-a');
    expect(log).not.toMatch(/failed to start node/);
    expect(log.slice(log.indexOf('upgrade detected, relaunching'))).toMatch(/applying upgrade "v2"/);
  }, 180_000);
});
