/**
 * The shipped Prometheus rules and Grafana dashboard, checked as promtool and Grafana's import
 * would (neither is available here): shape, PromQL balance, and that every metric they name is one
 * the pilot or the commander registers.
 */
import { describe, expect, it } from 'vitest';
import { CountingSender } from '../../commander/adapters/store/client.js';
import { CommanderMetrics } from '../../commander/metrics/prometheus.js';
import { EXAMPLE_CONFIG, parseConfig } from '../../pilot/config.js';
import { PilotMetrics } from '../../pilot/metrics.js';
import { balanced, loadDashboard, loadRules, origin, shippedRefs } from './refs.js';

/** Beam's own alerts, each mirrored by one rule. */
const MIRRORED = [
  'BeamPilotSilent',
  'BeamDaemonDown',
  'BeamValidatorMissingBlocks',
  'BeamLowPeers',
  'BeamFlooded',
  'BeamLeaseExpiring',
  'BeamCommanderSilent',
];

/** The series names each registry can expose (a histogram's as _bucket, _count and _sum). */
async function registered(): Promise<Set<string>> {
  const pilot = new PilotMetrics(parseConfig(EXAMPLE_CONFIG, 'example'), '0.0.0', () => null);
  const commander = new CommanderMetrics(new CountingSender({ send: async () => ({}) }));
  const names = new Set<string>();
  for (const registry of [pilot.registry, commander.registry]) {
    for (const m of await registry.getMetricsAsJSON()) {
      names.add(m.name);
      if (String(m.type) === 'histogram')
        for (const s of ['_bucket', '_count', '_sum']) names.add(m.name + s);
    }
  }
  return names;
}

describe('ops/prometheus/beam-rules.yml', () => {
  const rules = loadRules().groups.flatMap((g) => g.rules);

  it('has one rule per mirrored Beam alert, each with alert, expr, for, severity and summary', () => {
    expect(rules.map((r) => r.alert).sort()).toEqual([...MIRRORED].sort());
    for (const rule of rules) {
      expect(rule.alert, 'alert').toMatch(/^Beam[A-Z][A-Za-z]+$/);
      expect(typeof rule.expr, `${rule.alert}: expr`).toBe('string');
      expect(rule.for, `${rule.alert}: for`).toMatch(/^\d+[smhdwy]$/);
      expect(['critical', 'warning', 'info'], `${rule.alert}: labels.severity`).toContain(
        rule.labels?.severity,
      );
      expect(rule.annotations?.summary, `${rule.alert}: annotations.summary`).toMatch(/\S/);
      expect(balanced(rule.expr), `${rule.alert}: balanced parentheses in ${rule.expr}`).toBe(true);
    }
  });

  it('names only metrics the pilot and the commander register (and Prometheus its up)', async () => {
    const names = await registered();
    for (const ref of shippedRefs()) {
      expect(origin(ref), `who exposes ${ref.metric}`).not.toBe('unknown');
      if (ref.metric !== 'up') expect(names.has(ref.metric), `${ref.metric} is registered`).toBe(true);
    }
  });
});

describe('ops/grafana/beam.json', () => {
  it('imports: a data source input, a uid, template variables and panels with PromQL targets', () => {
    const d = loadDashboard();
    expect(d.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(d.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', pluginId: 'prometheus' })]);
    expect(d.templating.list.map((v) => v.name)).toEqual(['chain', 'node']);
    const ids = new Set<number>();
    for (const panel of d.panels) {
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
      ids.add((panel as unknown as { id: number }).id);
      if (panel.type === 'row') continue;
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const t of panel.targets ?? []) expect(balanced(t.expr), `${panel.title}: ${t.expr}`).toBe(true);
    }
    expect(ids.size).toBe(d.panels.length);
  });
});
