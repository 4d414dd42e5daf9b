/** Key modes the fleet and its pilots must agree on, and external signers that Beam only watches. */
import { describe, expect, it } from 'vitest';
import { Sim } from './sim.js';

describe('key modes', () => {
  it('external mode: Beam never moves a lease, adopts a signer or fails over', () => {
    const sim = new Sim(['val-a', 'val-b'], { holder: null, settings: { keyMode: 'external' } });
    sim.run(5_000);
    const out = sim.apply({ type: 'request-failover', actor: 'alice', to: 'val-a' });
    expect(out.effects.find((f) => f.type === 'notice')).toMatchObject({
      text: expect.stringContaining('external signer (keyMode external)'),
    });
    sim.node('val-a').running = false;
    sim.run(60_000);
    expect(sim.state.lease.holder).toBeNull();
    expect(sim.promotes).toEqual([]);
    expect(sim.state.op).toBeNull();
  });

  it('raises a critical alert while a validator pilot signs in another mode than the fleet, and clears it', () => {
    const sim = new Sim(['val-a', 'val-b'], { keyMode: 'signer' });
    sim.run(3_000);
    expect(sim.alerts()).not.toContain('mode:val-b');
    // val-b's pilot still runs with the key file: a move of the lease to it would go wrong.
    const report = sim.makeReport(sim.node('val-b'));
    sim.apply({ type: 'report', report: { ...report, custody: { ...report.custody!, mode: 'file' } } });
    expect(sim.alerts()).toContain('mode:val-b');
    const alert = sim.effects.find((f) => f.type === 'alert' && f.key.endsWith(':mode:val-b'));
    expect(alert).toMatchObject({
      severity: 'critical',
      title: 'val-b signs in file mode, the fleet in signer mode',
    });
    sim.run(3_000);
    expect(sim.alerts()).not.toContain('mode:val-b');
  });
});
