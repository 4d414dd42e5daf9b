import { describe, expect, it } from 'vitest';
import { FAULT_SETTINGS, type Fault, FaultWorld, rng, runSchedules, type UnsafePilot } from './faults.js';
import { Sim } from './sim.js';

// Fixed scenarios, not a replayable sample: FAILOVER_SEED and FAILOVER_SCHEDULES are schedules.test.ts's.
const SEED = 20261201;
const SCHEDULES = 50;

/** Two signer-mode nodes, val-a signing, after 15 s of normal operation (1 s reports and blocks). */
function world(unsafe: UnsafePilot | null = null): FaultWorld {
  const w = new FaultWorld(['val-a', 'val-b'], rng(SEED), FAULT_SETTINGS.signer, unsafe);
  w.run(15_000);
  return w;
}

const fault = (kind: Fault['kind'], node = 0): Fault => ({ kind, node, at: 0, durationMs: 0 });
const bSigns = (w: FaultWorld) => () => w.blocks.at(-1)!.signers.includes('val-b');

describe('signer mode: a switchover moves the signature, not the key', () => {
  it('no daemon restarts; the demote reports the mark and the new signer starts right above it', () => {
    const sim = new Sim(['val-a', 'val-b'], { keyMode: 'signer' });
    sim.blockMs = 3_000;
    sim.run(20_000);
    sim.apply({ type: 'request-switchover', actor: 'slack:U1' });
    const daemons = () => [...sim.nodes.values()].every((n) => n.running);
    sim.runUntil(() => !daemons() || sim.state.op?.phase === 'done', 30_000, 'the switchover');
    expect(daemons()).toBe(true);
    const lastOfA = Math.max(...sim.blocks.filter((b) => b.signers.includes('val-a')).map((b) => b.height));
    const firstOfB = sim.blocks.find((b) => b.signers.includes('val-b'))!.height;
    expect(sim.state.op).toMatchObject({ demotedMarkHeight: lastOfA, minHeight: lastOfA, missedBlocks: 0 });
    expect(firstOfB).toBe(lastOfA + 1);
    expect(sim.makeReport(sim.node('val-a')).custody).toMatchObject({
      mode: 'signer',
      holdsValidatorKey: false,
      signMark: { height: lastOfA },
      signerConnected: true,
    });
  });
});

describe('signer mode: the signer fences itself at signing time', () => {
  /** val-a loses its network (chain and commander); the standby takes over. */
  const isolated = (unsafe: UnsafePilot | null) => {
    const w = world(unsafe);
    const a = w.node('val-a');
    w.apply(fault('isolate'), true);
    const deadline = a.deadline!;
    expect(w.runUntil(bSigns(w), 60_000)).toBe(true);
    w.run(10_000);
    return { w, a, deadline };
  };

  it('cut off from everything, the old holder signs nothing after its deadline, its daemon running', () => {
    const { w, a, deadline } = isolated(null);
    expect(a.daemon).toBe('running'); // nothing had to stop it
    const signedByA = w.blocks.filter((b) => w.signersAt(b.height).includes('val-a'));
    expect(signedByA.at(-1)!.at).toBeLessThan(deadline);
    expect(w.doubleSigns()).toEqual([]);
  });

  it('a pilot that keeps signing past expiry is caught as a double sign', () => {
    expect(isolated('sign-past-expiry').w.doubleSigns().length).toBeGreaterThan(0);
  });

  it('a hung daemon needs no kill: its live pilot is demoted, and a signature it held counts late', () => {
    const w = world();
    const a = w.node('val-a');
    w.apply(fault('hang-daemon'), true);
    const held = a.inFlight;
    expect(held).toMatchObject({ heldBy: 'daemon' });
    expect(w.runUntil(bSigns(w), 60_000)).toBe(true);
    expect(a.daemon).toBe('hung');
    expect(w.state.op).toMatchObject({ from: 'val-a', demoteResult: 'ok' });
    expect(w.state.op!.minHeight).toBeGreaterThanOrEqual(held!.height);
    w.apply(fault('hang-daemon'), false);
    const resumedAt = w.tip;
    w.run(5_000);
    expect(w.signersAt(held!.height)).toEqual(['val-a']);
    expect(w.blocks.filter((b) => b.height > resumedAt).every((b) => b.signers.join() === 'val-b')).toBe(
      true,
    );
    expect(w.doubleSigns()).toEqual([]);
  });
});

describe('signer mode: signatures that leave late or never', () => {
  it('a pilot SIGSTOPped with its last signature in flight delivers it late, at a height nobody else signed', () => {
    const w = world();
    const a = w.node('val-a');
    w.apply(fault('sigstop-in-flight'), true);
    const deadline = a.deadline!;
    expect(w.runUntil(() => a.stopped, 30_000)).toBe(true);
    const h = a.inFlight!.height;
    // Decided within the last block interval of its lease: the latest height it could sign.
    expect(w.blocks.find((b) => b.height === h)!.at).toBeGreaterThan(deadline - w.blockMs);
    expect(w.signersAt(h)).toEqual([]);
    expect(w.runUntil(bSigns(w), 60_000)).toBe(true);
    expect(w.state.op!.minHeight).toBeGreaterThanOrEqual(h);
    w.apply(fault('sigstop-in-flight'), false);
    w.run(2_000);
    expect(w.signersAt(h)).toEqual(['val-a']);
    expect(w.doubleSigns()).toEqual([]);
  });

  it('a crash between persisting the mark and answering: the height is missed, never signed twice', () => {
    const w = world();
    const a = w.node('val-a');
    w.apply(fault('crash-after-persist'), true);
    expect(w.runUntil(() => !a.pilotUp, 5_000)).toBe(true);
    const h = a.mark.height;
    w.run(1_500);
    w.apply(fault('crash-after-persist'), false); // systemd restarts it
    expect(w.runUntil(() => w.blocks.at(-1)!.signers.includes('val-a'), 10_000)).toBe(true);
    expect(w.signedAt(h)).toBe(false);
    expect(w.signersAt(h)).toEqual([]);
    expect(w.state.lease.holder).toBe('val-a');
    expect(w.doubleSigns()).toEqual([]);
  });
});

describe('signer mode: both daemons ask for the same height while the lease moves', () => {
  /**
   * The chain needs many rounds for one height; a switchover runs meanwhile, requested just after
   * val-a reported, so that it signs the height's first round before its demote arrives.
   */
  const stalled = (unsafe: UnsafePilot | null) => {
    const w = world(unsafe);
    const a = w.node('val-a');
    w.runUntil(() => a.nextReportAt - w.now === w.settings.reportIntervalMs, 5_000);
    w.apply(fault('same-height', -1), true);
    const h = w.tip + 1;
    expect(w.runUntil(() => w.node('val-b').holdsKey, 10_000)).toBe(true);
    expect(w.stalled && w.tip + 1 === h).toBe(true);
    w.run(3_000); // more rounds of h, asked of both signers
    w.apply(fault('same-height', -1), false);
    expect(w.runUntil(bSigns(w), 10_000)).toBe(true);
    return { w, h };
  };

  it('the old holder signed the height before its demote; the new one signs from the next', () => {
    const { w, h } = stalled(null);
    expect(w.signersAt(h)).toEqual(['val-a']);
    expect(w.state.op).toMatchObject({ demotedMarkHeight: h, minHeight: h });
    expect(w.doubleSigns()).toEqual([]);
  });

  it("a pilot that ignores the promote's floor is caught as a double sign", () => {
    expect(stalled('ignore-floor').w.doubleSigns()).toEqual([stalled(null).h]);
  });
});

describe('signer mode: the commander restarts mid-failover', () => {
  it('resumes from the persisted state and completes the failover', () => {
    const w = world();
    w.apply(fault('commander-restart'), true);
    w.apply(fault('power-loss'), true);
    expect(w.runUntil(() => w.commanderDown, 60_000)).toBe(true);
    const persisted = structuredClone(w.state);
    w.run(5_000);
    expect(w.state).toEqual(persisted); // down: nothing decided
    w.apply(fault('commander-restart'), false);
    expect(w.runUntil(bSigns(w), 60_000)).toBe(true);
    expect(w.struck['commander-restart']).toBe(1);
    expect(w.doubleSigns()).toEqual([]);
  });
});

describe('signer mode: randomized fault schedules', () => {
  it(`strike every signer fault (${SCHEDULES} schedules)`, () => {
    const results = runSchedules(SCHEDULES, SEED, ['signer']);
    const struck = new Set(results.flatMap((r) => Object.keys(r.struck)));
    for (const kind of ['sigstop-in-flight', 'crash-after-persist', 'same-height', 'hang-daemon'])
      expect(struck).toContain(kind);
  });

  it('catch a pilot that signs past its lease', () => {
    const results = runSchedules(SCHEDULES, SEED, ['signer'], 'sign-past-expiry');
    expect(results.filter((r) => r.doubleSigns.length > 0).length).toBeGreaterThan(0);
  });
});
