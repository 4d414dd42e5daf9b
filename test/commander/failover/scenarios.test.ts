import { describe, expect, it } from 'vitest';
import { COMMANDER, decideFailover, replyFor } from '../../../commander/failover/index.js';
import { FENCE_MARGIN_MS, KEY_MODES, Sim, T0 } from './sim.js';

/** The pilot and the daemon on this node die together (power loss). */
function kill(sim: Sim, id: string): void {
  const n = sim.node(id);
  n.pilotUp = false;
  n.daemonOk = false;
  n.running = false;
}

/** Checks that every promote went out only after the previous signer had provably stopped. */
function expectNoDoubleSign(sim: Sim): void {
  expect(sim.doubleSigns()).toEqual([]);
}

/** Keys of every failover alert raised so far, resolved or not. */
function raised(sim: Sim): string[] {
  return sim.effects.flatMap((f) => (f.type === 'alert' && !f.resolved ? [f.key] : []));
}

/**
 * Runs `ms` in half-second steps, asserting at each that the holder's lease is alive for the
 * commander and, by the pilot's own deadline (expiry minus its fence margin), for the pilot: it
 * never fences.
 */
function holdThrough(sim: Sim, holder: string, ms: number): void {
  const end = sim.now + ms;
  while (sim.now < end) {
    sim.run(500);
    expect(sim.state.lease).toMatchObject({ holder, epoch: 1 });
    expect(sim.state.lease.expiresAt).toBeGreaterThan(sim.now);
    expect(sim.node(holder).leaseExpiresAt! - FENCE_MARGIN_MS).toBeGreaterThan(sim.now);
    expect(sim.node(holder).fenced).toBe(false);
  }
}

function deepFreeze(value: unknown): void {
  if (value && typeof value === 'object') {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
}

describe.each(KEY_MODES)('%s mode', (keyMode) => {
  const newSim = (ids: string[], options: ConstructorParameters<typeof Sim>[1] = {}) =>
    new Sim(ids, { keyMode, ...options });

  describe('healthy fleet', () => {
    it('renews the healthy holder forever and never starts an operation', () => {
      const sim = newSim(['val-a', 'val-b']);
      for (let i = 0; i < 120; i++) {
        sim.run(1_000);
        expect(sim.state.lease.expiresAt).toBeGreaterThan(sim.now);
      }
      expect(sim.state.lease).toMatchObject({ holder: 'val-a', epoch: 1 });
      expect(sim.state.op).toBeNull();
      expect(sim.promotes).toEqual([]);
      expect(sim.blocks.slice(-100).every((b) => b.signers.join() === 'val-a')).toBe(true);
      expect(sim.state.alerts).toEqual([]);
    });

    it('gives the standby a non-holder grant and the holder its renewed lease', () => {
      const sim = newSim(['val-a', 'val-b']);
      sim.run(5_000);
      expect(replyFor(sim.state, 'val-b').lease).toMatchObject({ holder: false, epoch: 1 });
      expect(replyFor(sim.state, 'val-a').lease).toMatchObject({ holder: true, epoch: 1 });
      expect(replyFor(sim.state, 'stranger').lease).toBeNull();
    });
  });

  describe('unplanned failover', () => {
    it('auto mode: a dead primary is replaced after lease expiry + grace, with chain evidence', () => {
      const sim = newSim(['val-a', 'val-b']);
      sim.run(10_000);
      const lastGrant = sim.state.lease.expiresAt;
      kill(sim, 'val-a');
      const killedAt = sim.now;
      sim.runUntil(() => sim.state.op?.phase === 'done', 60_000, 'the failover to finish');
      expectNoDoubleSign(sim);
      expect(sim.state.lease).toMatchObject({ holder: 'val-b', epoch: 2 });
      const [promote] = sim.promotes;
      expect(promote?.nodeId).toBe('val-b');
      // The silent holder could not confirm a demote: only expiry + grace lets the lease move.
      expect(promote!.at).toBeGreaterThanOrEqual(lastGrant + sim.settings.graceMs);
      expect(sim.state.op).toMatchObject({
        kind: 'failover',
        from: 'val-a',
        to: 'val-b',
        requestedBy: COMMANDER,
      });
      expect(sim.state.op?.phaseAt['fencing-wait']).toBeDefined();
      expect(sim.state.op?.missedBlocks).toBeGreaterThan(0);
      expect(sim.signing()).toBe(true);
      expect(sim.now - killedAt).toBeLessThan(40_000);
      const titles = sim.chat().map((c) => c.message.title);
      expect(titles.at(-1)).toMatch(/Failover done: val-b is signing/);
      expect(sim.chat()[0]?.mode).toBe('post');
      expect(
        sim
          .chat()
          .slice(1)
          .every((c) => c.mode === 'update'),
      ).toBe(true);
    });

    it('confirm mode: waits for the button, then fails over; [Not now] aborts', () => {
      const sim = newSim(['val-a', 'val-b'], { settings: { mode: 'confirm' } });
      sim.run(5_000);
      kill(sim, 'val-a');
      sim.runUntil(() => sim.state.op?.phase === 'awaiting-confirmation', 30_000, 'the question');
      const ask = sim.chat().at(-1)!;
      expect(ask.buttons).toEqual(['confirm', 'reject']);
      expect(ask.message.title).toBe('Fail over to val-b?');
      sim.run(60_000);
      expect(sim.state.op?.phase).toBe('awaiting-confirmation');
      expect(sim.promotes).toEqual([]);
      const opId = sim.state.op!.id;
      sim.apply({ type: 'confirm', opId, actor: 'slack:U1' });
      sim.runUntil(() => sim.state.op?.phase === 'done', 30_000, 'the failover to finish');
      expect(sim.state.op?.confirmedBy).toBe('slack:U1');
      expect(sim.state.lease.holder).toBe('val-b');
      expect(sim.chat().at(-1)?.buttons).toEqual([]);
      expectNoDoubleSign(sim);

      const other = newSim(['val-a', 'val-b'], { settings: { mode: 'confirm' } });
      other.run(5_000);
      kill(other, 'val-a');
      other.runUntil(() => other.state.op?.phase === 'awaiting-confirmation', 30_000, 'the question');
      other.apply({ type: 'reject', opId: other.state.op!.id, actor: 'tg:42' });
      expect(other.state.op).toMatchObject({ phase: 'aborted', abortReason: 'declined by tg:42' });
      other.run(60_000);
      expect(other.promotes).toEqual([]);
      expect(other.state.op).toMatchObject({ phase: 'aborted', declinedBy: 'tg:42' }); // not asked again at once
    });

    it('confirm mode with auto-approve proceeds after the timeout', () => {
      const sim = newSim(['val-a', 'val-b'], { settings: { mode: 'confirm', autoApproveAfterMs: 20_000 } });
      sim.run(5_000);
      kill(sim, 'val-a');
      sim.runUntil(() => sim.state.op?.phase === 'awaiting-confirmation', 30_000, 'the question');
      const asked = sim.now;
      expect(sim.chat().at(-1)?.message.context).toMatch(/proceeds on its own at/);
      sim.runUntil(() => sim.state.op?.phase === 'done', 60_000, 'the failover');
      expect(sim.state.op?.confirmedBy).toBe('auto-approve');
      expect(sim.state.op?.phaseAt.demoting).toBeGreaterThanOrEqual(asked + 20_000 - 1_000);
      expectNoDoubleSign(sim);
    });

    it('a crashed daemon under a live pilot is demoted and replaced before its lease even expires', () => {
      const sim = newSim(['val-a', 'val-b']);
      sim.run(10_000);
      const a = sim.node('val-a');
      a.daemonOk = false;
      a.running = false;
      sim.runUntil(() => sim.state.op?.phase === 'done', 30_000, 'the failover');
      const op = sim.state.op!;
      expect(op.demoteResult).toBe('ok');
      expect(op.phaseAt['fencing-wait']).toBeUndefined();
      const promote = sim.promotes[0]!;
      // The demote result proved the old signer stopped; no need to wait for expiry + grace.
      expect(promote.at).toBeLessThan(op.phaseAt.demoting! + sim.settings.leaseDurationMs);
      expect(a.holdsKey).toBe(false);
      expect(a.highestEpoch).toBe(2);
      expectNoDoubleSign(sim);
    });
  });

  describe('no failover without chain evidence', () => {
    it('primary cut off from the commander but still signing: never a failover', () => {
      const sim = newSim(['val-a', 'val-b']);
      const a = sim.node('val-a');
      a.fenceOnlyIfNotSigning = true; // conditional self-fencing (rejected, docs/failover.md) keeps it signing
      sim.run(5_000);
      a.reachesCommander = false;
      sim.run(300_000);
      expect(sim.state.op).toBeNull();
      expect(sim.promotes).toEqual([]);
      expect(sim.signing()).toBe(true);
      expect(sim.alerts()).toContain('signing-unreachable');
      // Back in touch: the alert clears and renewals resume.
      a.reachesCommander = true;
      sim.run(5_000);
      expect(sim.alerts()).toEqual([]);
      expect(sim.state.lease.expiresAt).toBeGreaterThan(sim.now);
      expectNoDoubleSign(sim);
    });

    it('chain halted: no failover and no alert while no new blocks come, then failover once they do', () => {
      const sim = newSim(['val-a', 'val-b']);
      sim.run(5_000);
      sim.halted = true;
      kill(sim, 'val-a');
      sim.run(120_000);
      expect(sim.state.op).toBeNull();
      expect(sim.promotes).toEqual([]);
      // A halt is not "no standby can take over": nobody could, and health reports the halt. (The
      // silent holder's signing-unreachable, raised before the halt showed, resolved with it.)
      expect(sim.alerts()).toEqual([]);
      expect(raised(sim).filter((k) => k.endsWith(':no-standby'))).toEqual([]);
      expect(sim.state.pause).toMatchObject({ upgrade: null, resumedAt: null });
      sim.halted = false;
      // The silent holder is no daemon still loading: its failover starts as soon as the chain moves.
      sim.runUntil(() => sim.state.op?.phase === 'done', 60_000, 'the failover after the chain resumed');
      expect(raised(sim).filter((k) => k.endsWith(':no-standby'))).toEqual([]);
      expect(sim.state.pause).toBeNull();
      expectNoDoubleSign(sim);
    });
  });

  describe('chain upgrades and halts', () => {
    /** Runs the chain up to the block below an upgrade at `ahead` blocks from now; returns its height. */
    const toUpgrade = (sim: Sim, ahead: number): number => {
      const height = sim.tip + ahead;
      sim.upgrade = { name: 'v2', height };
      sim.runUntil(() => sim.tip === height - 1, 10_000, 'the block below the upgrade height');
      return height;
    };

    it('upgrade: through the halt, the binary swap and a silent RPC the holder keeps its lease; nobody fences or fails over', () => {
      const sim = newSim(['val-a', 'val-b']);
      sim.run(5_000);
      const height = toUpgrade(sim, 5);
      const reached = sim.now;
      holdThrough(sim, 'val-a', 30_000); // halted: heights frozen at the plan height − 1, RPC up
      // The window opened with the plan height next, before any node could see the chain still.
      expect(sim.state.pause).toMatchObject({ upgrade: 'v2', height, resumedAt: null });
      expect(sim.state.pause!.since).toBeLessThanOrEqual(reached + sim.settings.reportIntervalMs);
      // cosmovisor swaps the binaries: the daemons stop, then load the new one without RPC a while.
      for (const n of sim.nodes.values()) n.running = false;
      holdThrough(sim, 'val-a', 20_000);
      for (const n of sim.nodes.values()) Object.assign(n, { running: true, loading: true });
      holdThrough(sim, 'val-a', 20_000);
      for (const n of sim.nodes.values()) n.loading = false;
      holdThrough(sim, 'val-a', 5_000);
      sim.upgradeReady = true; // more than 2/3 of the network runs v2
      sim.runUntil(() => sim.state.pause === null, 30_000, 'the end of the upgrade');
      holdThrough(sim, 'val-a', 30_000);
      expect(sim.blocks.find((b) => b.height === height)?.signers).toEqual(['val-a']);
      const audit = sim.effects.flatMap((f) =>
        f.type === 'audit' && f.action === 'failover.pause' ? [f.detail] : [],
      );
      expect(audit[0]).toBe(
        `upgrade v2: waiting for height ${height}; the holder keeps its lease, no failover`,
      );
      expect(audit.at(-1)).toBe('upgrade v2 over: failover rules apply again');
      expect(sim.delivered).toEqual([]); // no demote, no promote
      expect(raised(sim)).toEqual([]);
      expect(sim.chat()).toEqual([]);
      expect(sim.state.op).toBeNull();
      expectNoDoubleSign(sim);
    });

    it('upgrade: a holder that does not sign within the start-up grace after the chain resumed is failed over', () => {
      const sim = newSim(['val-a', 'val-b']);
      sim.run(5_000);
      toUpgrade(sim, 3);
      sim.run(20_000);
      sim.node('val-a').loading = true; // its new binary never gets done loading
      holdThrough(sim, 'val-a', 20_000);
      sim.upgradeReady = true;
      sim.runUntil(() => sim.state.pause?.resumedAt != null, 10_000, 'the chain resuming');
      const resumedAt = sim.state.pause!.resumedAt!;
      sim.runUntil(() => sim.state.op?.phase === 'done', 90_000, 'the failover');
      expect(sim.state.op!.startedAt).toBeGreaterThanOrEqual(resumedAt + sim.settings.startupGraceMs);
      expect(sim.state.lease).toMatchObject({ holder: 'val-b', epoch: 2 });
      expectNoDoubleSign(sim);
    });

    it('a node left on the old binary after the chain moved past the upgrade pauses nothing', () => {
      const sim = newSim(['val-a', 'val-b']);
      sim.run(5_000);
      const withUpgrade = (halted: { name: string; height: number } | null, plan = halted) => {
        const report = sim.makeReport(sim.node('val-b'));
        const facts = { cosmovisor: true, staged: true, plan: plan && { ...plan, info: '' } };
        sim.apply({
          type: 'report',
          report: { ...report, upgrade: { ...facts, halted: halted && { ...halted, info: '' } } },
        });
      };
      withUpgrade({ name: 'v1', height: sim.tip - 2 });
      expect(sim.state.pause).toBeNull();
      // A plan for a later height is no pause yet; one for the very next height is.
      withUpgrade(null, { name: 'v2', height: sim.tip + 2 });
      expect(sim.state.pause).toBeNull();
      withUpgrade(null, { name: 'v2', height: sim.tip + 1 });
      expect(sim.state.pause).toMatchObject({ upgrade: 'v2', height: sim.tip + 1, resumedAt: null });
    });

    it('a jailed validator: nobody can sign for it, so the holder keeps its lease and nothing fails over; unjailed, it signs again', () => {
      const sim = newSim(['val-a', 'val-b']);
      sim.jailed = false;
      sim.run(5_000);
      const epoch = sim.state.lease.epoch;
      sim.jailed = true; // the chain goes on without the validator
      holdThrough(sim, 'val-a', 60_000);
      expect(sim.state.pause).toMatchObject({ jailed: true, resumedAt: null });
      expect(sim.state.op).toBeNull();
      expect(sim.delivered).toEqual([]);
      expect(raised(sim)).toEqual([]);
      sim.jailed = false; // unjailed from chat
      sim.runUntil(() => sim.state.pause === null, 30_000, 'the end of the jail pause');
      holdThrough(sim, 'val-a', 10_000);
      expect(sim.state.lease).toMatchObject({ holder: 'val-a', epoch });
      expect(sim.blocks.at(-1)?.signers).toEqual(['val-a']);
      const audit = sim.effects.flatMap((f) =>
        f.type === 'audit' && f.action === 'failover.pause' ? [f.detail] : [],
      );
      expect(audit).toEqual([
        'validator jailed: nobody can sign for it; the holder keeps its lease, no failover',
        'validator jailed: back in the active set; the holder has the start-up grace to sign again',
        'validator jailed over: failover rules apply again',
      ]);
      expectNoDoubleSign(sim);
    });

    it('a halt of the network (its power offline): the holder keeps its lease through a daemon crash; no failover, no alert', () => {
      const sim = newSim(['val-a', 'val-b']);
      sim.run(5_000);
      sim.halted = true;
      const tip = sim.tip;
      holdThrough(sim, 'val-a', 60_000);
      expect(sim.state.pause).toMatchObject({ upgrade: null, height: tip + 1, resumedAt: null });
      sim.node('val-a').running = false; // crashed; its operator restarts it while the chain stands
      holdThrough(sim, 'val-a', 20_000);
      sim.node('val-a').running = true;
      holdThrough(sim, 'val-a', 5_000);
      sim.halted = false;
      sim.runUntil(() => sim.state.pause === null, 30_000, 'the end of the halt');
      holdThrough(sim, 'val-a', 30_000);
      expect(sim.signing()).toBe(true);
      expect(sim.delivered).toEqual([]);
      expect(raised(sim)).toEqual([]);
      expectNoDoubleSign(sim);
    });
  });

  describe('maintenance', () => {
    it('a node in maintenance is never a failover target, and a request naming it is refused', () => {
      const sim = newSim(['val-a', 'val-b', 'val-c']);
      sim.node('val-c').peers = 1; // val-b would be ranked first
      const until = T0 + 600_000;
      sim.node('val-b').maintenanceUntil = until;
      sim.run(5_000);
      const refused = sim.apply({ type: 'request-switchover', actor: 'u', to: 'val-b' });
      expect(refused.effects.find((f) => f.type === 'notice')).toMatchObject({
        text: `Switchover refused: val-b is in maintenance until ${new Date(until).toISOString().replace('.000Z', 'Z')}.`,
      });
      kill(sim, 'val-a');
      sim.runUntil(() => sim.state.op?.phase === 'done', 60_000, 'the failover');
      expect(sim.promotes.map((p) => p.nodeId)).toEqual(['val-c']);
      expectNoDoubleSign(sim);
    });

    it('with the only standby in maintenance there is no failover until the window ends', () => {
      const sim = newSim(['val-a', 'val-b']);
      sim.node('val-b').maintenanceUntil = T0 + 60_000;
      sim.run(5_000);
      kill(sim, 'val-a');
      sim.run(50_000);
      expect(sim.promotes).toEqual([]);
      expect(sim.alerts()).toContain('no-standby');
      sim.runUntil(() => sim.state.op?.phase === 'done', 60_000, 'the failover after the window');
      expect(sim.promotes[0]!.at).toBeGreaterThanOrEqual(T0 + 60_000);
      expectNoDoubleSign(sim);
    });
  });

  describe('planned switchover', () => {
    it('demotes, then promotes at once after the demote result: at most 2 missed blocks', () => {
      const sim = newSim(['val-a', 'val-b']);
      sim.blockMs = 3_000;
      sim.run(20_000);
      const expiry = sim.state.lease.expiresAt;
      const out = sim.apply({ type: 'request-switchover', actor: 'slack:U1' });
      expect(out.effects.filter((f) => f.type === 'notice')).toEqual([]);
      expect(sim.state.op).toMatchObject({
        kind: 'switchover',
        phase: 'demoting',
        from: 'val-a',
        to: 'val-b',
      });
      sim.runUntil(() => sim.state.op?.phase === 'done', 30_000, 'the switchover');
      expect(sim.promotes[0]!.at).toBeLessThan(expiry);
      expect(sim.state.op?.missedBlocks).toBeLessThanOrEqual(2);
      expect(sim.state.lease).toMatchObject({ holder: 'val-b', epoch: 2 });
      expectNoDoubleSign(sim);
    });

    it('a failed demote aborts the switchover and the holder keeps its lease', () => {
      const sim = newSim(['val-a', 'val-b']);
      sim.run(5_000);
      sim.node('val-a').refuseKeyActions = true;
      sim.apply({ type: 'request-switchover', actor: 'slack:U1' });
      sim.run(5_000);
      expect(sim.state.op).toMatchObject({ phase: 'aborted', demoteResult: 'failed' });
      expect(sim.state.op?.abortReason).toMatch(/demote failed on val-a/);
      sim.run(20_000);
      expect(sim.state.lease).toMatchObject({ holder: 'val-a', epoch: 1 });
      expect(sim.state.lease.expiresAt).toBeGreaterThan(sim.now);
      expect(sim.promotes).toEqual([]);
    });

    it('refuses a switchover when the holder is silent, when busy, and to unknown nodes', () => {
      const sim = newSim(['val-a', 'val-b']);
      sim.run(5_000);
      const notice = (o: ReturnType<Sim['apply']>) => o.effects.find((f) => f.type === 'notice');
      expect(notice(sim.apply({ type: 'request-switchover', actor: 'u', to: 'val-z' }))).toMatchObject({
        text: expect.stringMatching(/val-z is not a validator node/),
      });
      expect(notice(sim.apply({ type: 'request-switchover', actor: 'u', to: 'val-a' }))).toMatchObject({
        text: expect.stringMatching(/already holds the lease/),
      });
      sim.apply({ type: 'request-switchover', actor: 'u' });
      expect(notice(sim.apply({ type: 'request-switchover', actor: 'u' }))).toMatchObject({
        text: expect.stringMatching(/already demoting/),
      });
      const silent = newSim(['val-a', 'val-b']);
      silent.run(5_000);
      silent.node('val-a').reachesCommander = false;
      silent.run(5_000);
      expect(notice(silent.apply({ type: 'request-switchover', actor: 'u' }))).toMatchObject({
        text: expect.stringMatching(/use failover/),
      });
      expect(silent.state.op).toBeNull();
    });
  });

  describe('choosing the standby', () => {
    it('failover to a chosen node: demote, wait for N missed commits, promote that node', () => {
      const sim = newSim(['val-a', 'val-b', 'val-c']);
      sim.node('val-c').peers = 1; // b would be ranked first
      sim.run(5_000);
      sim.apply({ type: 'request-failover', actor: 'slack:U1', to: 'val-c' });
      sim.runUntil(() => sim.state.op?.phase === 'done', 30_000, 'the failover');
      expect(sim.state.lease).toMatchObject({ holder: 'val-c', epoch: 2 });
      expect(sim.promotes.map((p) => p.nodeId)).toEqual(['val-c']);
      // An unplanned-style move keeps requiring N commits without our signature before promoting.
      const promotedAt = sim.promotes[0]!.at;
      const unsignedBefore = sim.blocks.filter((b) => b.at <= promotedAt).slice(-3);
      expect(unsignedBefore.every((b) => b.signers.length === 0)).toBe(true);
      expectNoDoubleSign(sim);
    });

    it('two standbys: the healthiest takes over (synced, highest, most peers)', () => {
      const sim = newSim(['val-a', 'val-b', 'val-c']);
      sim.node('val-b').catchingUp = true;
      sim.node('val-c').peers = 2;
      sim.run(5_000);
      kill(sim, 'val-a');
      sim.runUntil(() => sim.state.op?.phase === 'done', 60_000, 'the failover');
      expect(sim.state.lease.holder).toBe('val-c');
      expectNoDoubleSign(sim);
    });

    it('switches to the next standby when the first choice dies before promotion', () => {
      const sim = newSim(['val-a', 'val-b', 'val-c']);
      sim.node('val-c').peers = 2;
      sim.run(5_000);
      kill(sim, 'val-a');
      sim.runUntil(() => sim.state.op?.phase === 'fencing-wait', 30_000, 'the fencing wait');
      expect(sim.state.op?.to).toBe('val-b');
      kill(sim, 'val-b');
      sim.runUntil(() => sim.state.op?.phase === 'done', 60_000, 'the failover');
      expect(sim.state.lease.holder).toBe('val-c');
      expectNoDoubleSign(sim);
    });
  });

  describe('the old primary comes back', () => {
    it('finds itself demoted with the current epoch, and an alert says so', () => {
      const sim = newSim(['val-a', 'val-b']);
      sim.run(5_000);
      const a = sim.node('val-a');
      a.reachesCommander = false; // cut off; it fences itself when its lease runs out
      a.fenceOnlyIfNotSigning = false;
      sim.runUntil(() => sim.state.op?.phase === 'done', 60_000, 'the failover');
      expect(a.fenced).toBe(true);
      expect(a.holdsKey).toBe(true);
      a.reachesCommander = true;
      sim.run(4_000);
      expect(a.holdsKey).toBe(false);
      expect(a.highestEpoch).toBe(2);
      expect(sim.alerts()).not.toContain('stray:val-a');
      expect(sim.state.lease.holder).toBe('val-b');
      sim.run(20_000);
      expectNoDoubleSign(sim);
      const alerts = sim.effects.filter((f) => f.type === 'alert' && f.key.endsWith('stray:val-a'));
      expect(alerts.map((f) => f.type === 'alert' && f.resolved)).toEqual([false, true]);
    });
  });

  describe('retries, duplicates and reordering', () => {
    it('applying the same event twice changes nothing more; stale reports are ignored', () => {
      const sim = newSim(['val-a', 'val-b']);
      sim.run(5_000);
      const a = sim.node('val-a');
      const older = sim.makeReport(a);
      const newer = sim.makeReport(a);
      const once = decideFailover(sim.state, { type: 'report', report: newer }, sim.now, sim.settings);
      const twice = decideFailover(once.state, { type: 'report', report: newer }, sim.now, sim.settings);
      expect(twice.state).toEqual(once.state);
      const stale = decideFailover(once.state, { type: 'report', report: older }, sim.now + 10, sim.settings);
      expect(stale.state).toEqual(once.state);
      const backInTime = { ...sim.makeReport(a), sentAt: newer.sentAt - 1 };
      expect(
        decideFailover(once.state, { type: 'report', report: backInTime }, sim.now, sim.settings).state,
      ).toEqual(once.state);
      const tick1 = decideFailover(once.state, { type: 'tick' }, sim.now + 1, sim.settings);
      expect(decideFailover(tick1.state, { type: 'tick' }, sim.now + 1, sim.settings).state).toEqual(
        tick1.state,
      );
    });

    it('does not modify its input state', () => {
      const sim = newSim(['val-a', 'val-b']);
      sim.run(2_000);
      const frozen = structuredClone(sim.state);
      deepFreeze(frozen);
      expect(() =>
        decideFailover(frozen, { type: 'request-switchover', actor: 'u' }, sim.now, sim.settings),
      ).not.toThrow();
    });

    it('duplicate results, clicks and requests are harmless; action ids are deterministic', () => {
      const sim = newSim(['val-a', 'val-b'], { settings: { mode: 'confirm' } });
      sim.run(5_000);
      kill(sim, 'val-a');
      sim.runUntil(() => sim.state.op?.phase === 'awaiting-confirmation', 30_000, 'the question');
      const opId = sim.state.op!.id;
      const first = decideFailover(sim.state, { type: 'confirm', opId, actor: 'u1' }, sim.now, sim.settings);
      const again = decideFailover(
        first.state,
        { type: 'confirm', opId, actor: 'u2' },
        sim.now,
        sim.settings,
      );
      expect(again.state).toEqual(first.state);
      expect(again.effects).toEqual([
        { type: 'notice', text: `Nothing to confirm: ${opId} is fencing-wait.` },
      ]);
      // Two concurrent handlers computing from the same version produce the same ids.
      const racer = decideFailover(sim.state, { type: 'confirm', opId, actor: 'u1' }, sim.now, sim.settings);
      expect(racer.state.outbox).toEqual(first.state.outbox);
      expect(first.state.op?.demoteActionId).toBe(`${opId}-demote`);
      sim.state = first.state;
      sim.runUntil(() => sim.state.op?.phase === 'done', 60_000, 'the failover');
      const promoteId = sim.state.op!.promoteActionId!;
      const stateBefore = sim.state;
      const dup = decideFailover(
        stateBefore,
        {
          type: 'action-result',
          nodeId: 'val-b',
          result: { id: promoteId, type: 'promote', ok: false, finishedAt: T0 },
        },
        sim.now,
        sim.settings,
      );
      expect(dup.state).toEqual(stateBefore);
    });

    it('a result from the wrong node does not count', () => {
      const sim = newSim(['val-a', 'val-b']);
      sim.run(5_000);
      sim.node('val-a').reachesCommander = false;
      sim.apply({ type: 'request-switchover', actor: 'u' });
      const id = sim.state.op!.demoteActionId!;
      sim.apply({
        type: 'action-result',
        nodeId: 'val-b',
        result: { id, type: 'demote', ok: true, finishedAt: T0 },
      });
      expect(sim.state.op?.demoteResult).toBeNull();
      expect(sim.promotes).toEqual([]);
    });

    it('adopts a lone node already signing when no lease exists, without promoting it', () => {
      const sim = newSim(['val-a', 'val-b'], { holder: null });
      const a = sim.node('val-a');
      a.holdsKey = true;
      sim.run(3_000);
      expect(sim.state.lease).toMatchObject({ holder: 'val-a', epoch: 1 });
      expect(sim.promotes).toEqual([]);
      expect(sim.effects.some((f) => f.type === 'audit' && f.action === 'failover.adopted')).toBe(true);
    });

    it('gives an adopted daemon that is still loading its state until its lease runs out', () => {
      const starting = () => {
        const sim = newSim(['val-a', 'val-b'], { holder: null });
        Object.assign(sim.node('val-a'), { holdsKey: true, loading: true });
        sim.run(2_000);
        expect(sim.state.lease).toMatchObject({ holder: 'val-a', epoch: 1 });
        return sim;
      };
      // The standby sees the validator missing from every commit, but the holder is only starting:
      // it loads until just before its lease runs out by its pilot's clock (minus the fence margin).
      const sim = starting();
      sim.run(sim.state.lease.expiresAt - FENCE_MARGIN_MS - sim.now - 1_000);
      expect(sim.state.op).toBeNull();
      sim.node('val-a').loading = false;
      sim.run(30_000);
      expect(sim.state.op).toBeNull();
      expect(sim.state.lease.holder).toBe('val-a');
      expect(sim.signing()).toBe(true);
      // One that never answers is not renewed: once its lease or the start-up grace runs out, the
      // standby takes over.
      const stuck = starting();
      const { grantedAt, expiresAt } = stuck.state.lease;
      stuck.runUntil(() => stuck.state.op?.phase === 'done', 60_000, 'the failover');
      expect(stuck.state.op?.startedAt).toBeGreaterThanOrEqual(
        Math.min(expiresAt, grantedAt + stuck.settings.startupGraceMs),
      );
      expect(stuck.state.lease.holder).toBe('val-b');
      expectNoDoubleSign(stuck);
    });

    it('with no holder and nobody holding the key, an operator failover promotes a standby', () => {
      const sim = newSim(['val-a', 'val-b'], { holder: null });
      sim.run(5_000);
      sim.apply({ type: 'request-failover', actor: 'admin', to: 'val-b' });
      sim.runUntil(() => sim.state.op?.phase === 'done', 30_000, 'the first promotion');
      expect(sim.state.lease).toMatchObject({ holder: 'val-b', epoch: 1 });
      expectNoDoubleSign(sim);
    });
  });

  describe('cancelling', () => {
    it('an operator can call off a move before the promote, and then re-promote the demoted holder', () => {
      const sim = newSim(['val-a', 'val-b']);
      sim.run(5_000);
      kill(sim, 'val-b'); // the only standby dies: the switchover cannot finish
      sim.node('val-b').pilotUp = true; // its pilot still reports a dead daemon
      sim.run(3_000);
      const refused = sim.apply({ type: 'request-switchover', actor: 'u', to: 'val-b' });
      expect(refused.effects.find((f) => f.type === 'notice')).toMatchObject({
        text: expect.stringMatching(/val-b is not running, synced/),
      });
      // Revive b, start a failover to it, then lose b again while a is already demoted.
      const b = sim.node('val-b');
      b.daemonOk = true;
      b.running = true;
      sim.run(3_000);
      sim.apply({ type: 'request-failover', actor: 'u', to: 'val-b' });
      sim.runUntil(() => sim.state.op?.demoteResult === 'ok', 10_000, 'the demote');
      kill(sim, 'val-b');
      sim.run(5_000);
      expect(sim.state.op?.phase).toBe('demoting');
      sim.apply({ type: 'reject', opId: sim.state.op!.id, actor: 'admin' });
      expect(sim.state.op).toMatchObject({ phase: 'aborted', abortReason: 'declined by admin' });
      expect(sim.promotes).toEqual([]);
      sim.apply({ type: 'request-failover', actor: 'admin', to: 'val-a' });
      sim.runUntil(() => sim.state.op?.phase === 'done', 30_000, 'the re-promotion');
      expect(sim.state.lease).toMatchObject({ holder: 'val-a', epoch: 3 });
      expect(sim.doubleSigns()).toEqual([]);
    });
  });
});
