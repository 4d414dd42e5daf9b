/**
 * What the shipped Grafana dashboard and Prometheus rules (ops/) ask of Beam's metrics: every metric
 * their PromQL names, with the labels it filters, groups or labels legends by. promtool is not
 * available, so a small PromQL scanner does it; it knows the functions and keywords the files use
 * and refuses any other bare word, so a typo fails here rather than as an empty panel.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { parse as parseYaml } from 'yaml';

const OPS = path.resolve(import.meta.dirname, '../../ops');

export interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: string };
  annotations: { summary: string; description?: string };
}

export function loadRules(): { groups: { name: string; rules: Rule[] }[] } {
  return parseYaml(readFileSync(path.join(OPS, 'prometheus/beam-rules.yml'), 'utf8'));
}

interface Panel {
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: unknown;
  targets?: { expr: string; legendFormat?: string; refId: string }[];
}

export interface Dashboard {
  title: string;
  uid: string;
  __inputs: { name: string; type: string; pluginId: string }[];
  templating: { list: { name: string; query: { query: string } }[] };
  panels: Panel[];
}

export function loadDashboard(): Dashboard {
  return JSON.parse(readFileSync(path.join(OPS, 'grafana/beam.json'), 'utf8'));
}

/** Aggregations may be followed by `by (…)` before their parenthesis. */
const AGGREGATIONS = new Set(['sum', 'max', 'min', 'avg', 'count']);
const FUNCTIONS = new Set(['rate', 'increase', 'histogram_quantile', 'time', 'label_values']);
const GROUPING = new Set(['by', 'without', 'on', 'ignoring']);
const OPERATORS = new Set(['and', 'or', 'unless']);

/** One metric as an expression uses it: the labels it needs, and the scrape job its matcher names. */
export interface MetricRef {
  metric: string;
  labels: Set<string>;
  job: string | null;
}

/** Parentheses, brackets and braces balance outside string literals. */
export function balanced(expr: string): boolean {
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i] as string;
    if (c === '"') {
      for (i++; i < expr.length && expr[i] !== '"'; i++) if (expr[i] === '\\') i++;
      if (i >= expr.length) return false;
    } else if ('([{'.includes(c)) stack.push(c);
    else if (c in pairs && stack.pop() !== pairs[c]) return false;
  }
  return stack.length === 0;
}

/** The metrics of one PromQL expression (or Grafana `label_values(metric{…}, label)` query). */
export function metricRefs(expr: string): MetricRef[] {
  const refs: MetricRef[] = [];
  const grouping = new Set<string>();
  const token = /"(?:[^"\\]|\\.)*"|\[[^\]]*\]|\d+(?:\.\d+)?(?:e\d+)?|[A-Za-z_:][A-Za-z0-9_:]*|\S/g;
  const tokens: string[] = expr.match(token) ?? [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as string;
    if (!/^[A-Za-z_:]/.test(t)) continue;
    const next = tokens[i + 1];
    if (GROUPING.has(t)) {
      // by (a, b): labels every metric of this expression must carry.
      for (i += 2; i < tokens.length && tokens[i] !== ')'; i++)
        if (tokens[i] !== ',') grouping.add(tokens[i] as string);
      continue;
    }
    if (AGGREGATIONS.has(t) || OPERATORS.has(t)) continue;
    if (next === '(') {
      expect(FUNCTIONS.has(t), `unknown PromQL function "${t}" in ${expr}`).toBe(true);
      // label_values(metric, label): the second argument is a label of the metric.
      if (t === 'label_values') {
        const close = tokens.indexOf(')', i);
        const label = tokens[close - 1] as string;
        const ref = metricRefs(tokens.slice(i + 2, close - 2).join(''))[0];
        if (ref) refs.push({ ...ref, labels: new Set([...ref.labels, label]) });
        i = close;
      }
      continue;
    }
    const ref: MetricRef = { metric: t, labels: new Set(), job: null };
    if (next === '{') {
      for (i += 2; i < tokens.length && tokens[i] !== '}'; i++) {
        const label = tokens[i] as string;
        if (label === ',' || !/^[A-Za-z_]/.test(label)) continue;
        // label, operator (one or two tokens), "value"
        let j = i + 1;
        while (tokens[j] && !tokens[j]!.startsWith('"')) j++;
        if (label === 'job') ref.job = JSON.parse(tokens[j] as string);
        ref.labels.add(label);
        i = j;
      }
    }
    refs.push(ref);
  }
  for (const ref of refs) for (const label of grouping) ref.labels.add(label);
  return refs;
}

/** Labels of a legend template (`{{node}} {{kind}}`), which the series of every target must carry. */
function legendLabels(legend: string | undefined): string[] {
  return [...(legend ?? '').matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1] as string);
}

/** Every metric the dashboard and the rules use, with all the labels they need of it. */
export function shippedRefs(): MetricRef[] {
  const refs: MetricRef[] = [];
  for (const group of loadRules().groups) for (const rule of group.rules) refs.push(...metricRefs(rule.expr));
  const dashboard = loadDashboard();
  for (const variable of dashboard.templating.list) refs.push(...metricRefs(variable.query.query));
  for (const panel of dashboard.panels) {
    for (const target of panel.targets ?? []) {
      const own = metricRefs(target.expr);
      // An aggregation keeps only its grouping labels: a legend label is needed of the metric anyway.
      for (const ref of own) for (const label of legendLabels(target.legendFormat)) ref.labels.add(label);
      refs.push(...own);
    }
  }
  return refs;
}

/** Which process exposes a metric: by its prefix, or for the runtime metrics by the job matcher. */
export function origin(ref: MetricRef): 'pilot' | 'commander' | 'prometheus' | 'unknown' {
  if (ref.metric === 'up') return 'prometheus';
  if (ref.metric.startsWith('beam_pilot_')) return 'pilot';
  if (ref.metric.startsWith('beam_commander_')) return 'commander';
  if (/^(process|nodejs)_/.test(ref.metric)) {
    if (ref.job === 'beam-pilot') return 'pilot';
    if (ref.job === 'beam-commander') return 'commander';
  }
  return 'unknown';
}

/** Labels Prometheus adds to every scraped series (the scrape config's), and PromQL's own. */
const TARGET_LABELS = new Set(['job', 'instance', '__name__']);

/** Series names and the labels they carry, from Prometheus text exposition. */
export function parseExposition(text: string): { families: Set<string>; series: Map<string, Set<string>> } {
  const families = new Set<string>();
  const series = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) /.exec(line);
    if (type) families.add(type[1] as string);
    const sample = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? \S+/.exec(line);
    if (!sample || line.startsWith('#')) continue;
    const labels = series.get(sample[1] as string) ?? new Set<string>();
    for (const m of (sample[2] ?? '').matchAll(/(\w+)="/g)) labels.add(m[1] as string);
    series.set(sample[1] as string, labels);
  }
  return { families, series };
}

/**
 * Checks a scrape of `who` against every shipped reference to its metrics: the metric is exposed
 * (its family, `_bucket`/`_count`/`_sum` being a histogram's), and every label the files need is on
 * its series, or where none was observed yet (a histogram nobody fed), among `declared(metric)`.
 */
export function expectServes(
  who: 'pilot' | 'commander',
  exposition: string,
  declared: (family: string) => string[] = () => [],
): MetricRef[] {
  const { families, series } = parseExposition(exposition);
  const mine = shippedRefs().filter((ref) => origin(ref) === who);
  for (const ref of mine) {
    const family = ref.metric.replace(/_(bucket|count|sum)$/, '');
    const exposed = families.has(ref.metric) || (family !== ref.metric && families.has(family));
    expect(exposed, `${who} exposes ${ref.metric}`).toBe(true);
    const seen = series.get(ref.metric);
    const have = seen ?? new Set([...declared(family), ...(ref.metric.endsWith('_bucket') ? ['le'] : [])]);
    for (const label of ref.labels) {
      if (TARGET_LABELS.has(label)) continue;
      expect(have.has(label), `${who}'s ${ref.metric} carries label "${label}"`).toBe(true);
    }
  }
  return mine;
}
