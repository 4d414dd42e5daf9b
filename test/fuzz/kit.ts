/**
 * Shared settings for the fuzz tests: how many inputs per route (FUZZ_RUNS), the seed (FUZZ_SEED,
 * printed so a failure can be replayed), and a summary of outcomes per route that `npm run bench`
 * collects (FUZZ_SUMMARY_DIR).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';

export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 1000);
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261201);
/** Per-test timeout: generous with large FUZZ_RUNS. */
export const FUZZ_TIMEOUT_MS = Number(process.env.FUZZ_TIMEOUT_MS ?? 60_000);

/** fast-check parameters for one route; prints how to replay it. */
export function fuzzParams(route: string, runs = FUZZ_RUNS): fc.Parameters<unknown> {
  console.log(
    `fuzz ${route}: ${runs} inputs, seed ${FUZZ_SEED} (replay: FUZZ_SEED=${FUZZ_SEED} FUZZ_RUNS=${runs})`,
  );
  return { numRuns: runs, seed: FUZZ_SEED, endOnFailure: true };
}

/** Counts how inputs were answered (e.g. by HTTP status or error kind) for one route. */
export class Outcomes {
  readonly counts: Record<string, number> = {};
  runs = 0;
  constructor(readonly route: string) {}
  add(outcome: string | number): void {
    this.runs += 1;
    this.counts[outcome] = (this.counts[outcome] ?? 0) + 1;
  }
}

/** Writes this file's route outcomes where `npm run bench` collects them (when FUZZ_SUMMARY_DIR is set). */
export function recordFuzz(file: string, outcomes: Outcomes[]): void {
  const dir = process.env.FUZZ_SUMMARY_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const rows = outcomes.map((o) => ({
    file: path.relative(process.cwd(), file),
    route: o.route,
    runs: o.runs,
    seed: FUZZ_SEED,
    outcomes: o.counts,
  }));
  writeFileSync(path.join(dir, `${path.basename(file)}.json`), JSON.stringify(rows));
}

/** Values that break parsers and schemas: wrong types, extremes, odd strings. */
export const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    null,
    true,
    false,
    0,
    -1,
    -0,
    1.5,
    2 ** 53 + 1,
    1e308,
    -1e308,
    '',
    ' ',
    '0',
    '-1',
    'NaN',
    'Infinity',
    'null',
    'true',
    '__proto__',
    'constructor',
    '\u0000',
    '\uFFFF',
    '\uD800',
    '😀',
    '<script>',
    "'; DROP TABLE beam; --",
    '../../etc/passwd',
    'x'.repeat(5_000),
    [],
    {},
    [[[[[]]]]],
    { __proto__: { polluted: true } },
  ),
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.integer(),
  fc.double(),
  fc.jsonValue({ maxDepth: 3 }),
);

type Json = unknown;

/** All paths (as key arrays) of a JSON value's nested members. */
function paths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [];
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      out.push([...prefix, i], ...paths(v, [...prefix, i]));
    });
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) out.push([...prefix, k], ...paths(v, [...prefix, k]));
  }
  return out;
}

/** A deep copy (constants are shared between runs and must never be mutated in place). */
function clone<T>(value: T): T {
  const text = JSON.stringify(value);
  return (text === undefined ? value : JSON.parse(text)) as T;
}

type Op =
  | { op: 'delete'; at: number }
  | { op: 'replace'; at: number; value: unknown }
  | { op: 'add'; at: number; key: string; value: unknown };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('replace' as const), at: fc.nat(), value: nastyValue }),
  fc.record({
    op: fc.constant('add' as const),
    at: fc.nat(),
    key: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'extra')),
    value: nastyValue,
  }),
);

function apply(base: Json, ops: Op[]): Json {
  let doc = clone(base);
  for (const o of ops) {
    const all = paths(doc);
    if (all.length === 0) return o.op === 'replace' ? clone(o.value) : doc;
    const p = all[o.at % all.length]!;
    if (p.length === 0) continue;
    type Node = Record<string | number, unknown> & unknown[];
    const parent = p.slice(0, -1).reduce<Node>((acc, k) => acc[k as number] as Node, doc as Node);
    const key = p[p.length - 1]!;
    if (o.op === 'delete') {
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete (parent as Record<string | number, unknown>)[key];
    } else if (o.op === 'replace') {
      (parent as Record<string | number, unknown>)[key] = clone(o.value);
    } else {
      const target = (parent as Record<string | number, unknown>)[key];
      if (target && typeof target === 'object' && !Array.isArray(target))
        Object.defineProperty(target, o.key, {
          value: clone(o.value),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      else if (Array.isArray(target)) target.push(clone(o.value));
      else doc = Array.isArray(doc) ? doc : { ...(doc as object), [o.key]: clone(o.value) };
    }
  }
  return doc;
}

/** JSON text derived from `base` by 1–4 structural mutations, sometimes corrupted as text too. */
export function mutatedJson(base: Json): fc.Arbitrary<{ text: string; value: unknown; corrupted: boolean }> {
  return fc
    .tuple(
      fc.array(opArb, { minLength: 1, maxLength: 4 }),
      fc.oneof(
        { weight: 6, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
        {
          weight: 1,
          arbitrary: fc.record({
            kind: fc.constant('insert' as const),
            at: fc.nat(),
            text: fc.string({ unit: 'binary', minLength: 1, maxLength: 4 }),
          }),
        },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('wrap' as const), at: fc.nat() }) },
      ),
    )
    .map(([ops, corruption]) => {
      const value = apply(base, ops);
      let text = JSON.stringify(value) ?? 'undefined';
      if (corruption?.kind === 'truncate') text = text.slice(0, corruption.at % Math.max(1, text.length));
      else if (corruption?.kind === 'insert') {
        const at = corruption.at % (text.length + 1);
        text = text.slice(0, at) + corruption.text + text.slice(at);
      } else if (corruption?.kind === 'wrap') text = ['[', '\uFEFF', '{"a":', ' '][corruption.at % 4] + text;
      return { text, value, corrupted: corruption !== null };
    });
}

/** Any text a client could send: mutated valid JSON, arbitrary JSON, or plain noise. */
export function hostileBody(base: Json): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: mutatedJson(base).map((m) => m.text) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '',
        '{}',
        '[]',
        'null',
        '{"__proto__":{"x":1}}',
        '{'.repeat(5_000),
        'x'.repeat(70_000),
      ),
    },
  );
}
