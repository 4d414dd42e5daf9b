import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import cron from 'node-cron';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { afterAll, describe, expect, it } from 'vitest';
import { loadServeConfig, type ServeFlags } from '../../commander/server/serve.js';
import { ConfigError, EXAMPLE_CONFIG, parseConfig } from '../../pilot/config.js';
import { FUZZ_TIMEOUT_MS, fuzzParams, mutatedJson, Outcomes, recordFuzz } from './kit.js';

// Config files people write by hand: the pilot's TOML and the self-hosted commander's TOML/JSON plus
// flags. Malformed input fails with an error that names the key (or the syntax problem), never with
// a stray exception, and what is accepted can actually run.

const dir = mkdtempSync(path.join(tmpdir(), 'beam-fuzz-config-'));
const pilotOutcome = new Outcomes('pilot config (TOML)');
const serveOutcome = new Outcomes('commander serve config (TOML/JSON + flags)');
afterAll(() => {
  recordFuzz(import.meta.filename, [pilotOutcome, serveOutcome]);
  rmSync(dir, { recursive: true, force: true });
});

/** TOML text from a mutated document, or the text itself mangled. */
function tomlFrom(base: Record<string, unknown>, text: string): fc.Arbitrary<string> {
  const lines = text.split('\n');
  return fc.oneof(
    {
      weight: 4,
      arbitrary: mutatedJson(base).map((m) => {
        try {
          return stringifyToml(m.value as Record<string, unknown>);
        } catch {
          return m.text; // not representable as TOML (null, top-level array): JSON text is bad TOML too
        }
      }),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.nat(),
          fc.oneof(
            fc.string({ unit: 'binary', maxLength: 30 }),
            fc.constantFrom('[node]', '= 1', 'x = ', '"', '[[', 'a.b.c = {'),
          ),
        )
        .map(([at, junk]) => {
          const copy = [...lines];
          copy.splice(at % (copy.length + 1), 0, junk);
          return copy.join('\n');
        }),
    },
    { weight: 1, arbitrary: fc.nat().map((at) => text.slice(0, at % (text.length + 1))) },
  );
}

describe('fuzzing config files', () => {
  it(
    'pilot config: every bad file is a ConfigError naming the key or the TOML problem',
    () => {
      const base = parseToml(EXAMPLE_CONFIG) as Record<string, unknown>;
      fc.assert(
        fc.property(tomlFrom(base, EXAMPLE_CONFIG), (text) => {
          try {
            parseConfig(text, '/etc/beam/pilot.toml');
            pilotOutcome.add('accepted');
          } catch (error) {
            expect(error, String(error)).toBeInstanceOf(ConfigError);
            const problems = (error as ConfigError).problems;
            expect(problems.length).toBeGreaterThan(0);
            for (const p of problems) expect(p).toMatch(/^(not valid TOML: \S|[\w.()\s-]+: \S)/);
            expect((error as Error).message).toContain('/etc/beam/pilot.toml');
            pilotOutcome.add(problems[0]!.startsWith('not valid TOML') ? 'bad TOML' : 'bad key');
          }
        }),
        fuzzParams('pilot config (TOML)'),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'commander serve config: bad files and flags fail with a message naming the problem; accepted ones can start',
    () => {
      const base = {
        listen: '127.0.0.1:9000',
        stateDir: '/var/lib/beam',
        tick: '*/15 * * * * *',
        settings: {
          enrollmentToken: 'from-the-file-0123456789',
          reportIntervalMs: 2000,
          autoApprove: { roles: ['sentry'] },
          thresholds: { silentIntervals: 4 },
          alerts: { renotifyCriticalMs: 60000, quietHours: { startHour: 22, endHour: 7 } },
          chat: [{ platform: 'slack', chat: 'C0123', minSeverity: 'warning' }],
        },
      };
      const text = stringifyToml(base);
      const flagString = fc.oneof(
        fc.string({ maxLength: 20 }),
        fc.constantFrom('127.0.0.1:0', 'nohost', ':80', '1e3', '-5', 'abc', '*/5 * * * * *', '61 * * * *'),
      );
      const someFlags: fc.Arbitrary<ServeFlags> = fc.record(
        {
          listen: flagString,
          tick: flagString,
          reportIntervalMs: flagString,
          table: flagString,
          autoApprove: flagString,
          threshold: fc.array(fc.oneof(flagString, fc.constantFrom('silentIntervals=3', 'x=1', '=', 'a=b')), {
            maxLength: 3,
          }),
          chat: fc.array(fc.oneof(flagString, fc.constantFrom('slack:C1', 'telegram:-1:critical', 'x:y:z')), {
            maxLength: 2,
          }),
        },
        { requiredKeys: [] },
      );
      const flags = fc.oneof(
        { weight: 2, arbitrary: fc.constant<ServeFlags>({}) },
        { weight: 1, arbitrary: someFlags },
      );
      let n = 0;
      fc.assert(
        fc.property(
          fc.oneof(
            tomlFrom(base, text).map((t) => ({ ext: 'toml', t })),
            mutatedJson(base).map((m) => ({ ext: 'json', t: m.text })),
          ),
          flags,
          ({ ext, t }, f) => {
            const file = path.join(dir, `serve-${n++ % 4}.${ext}`);
            writeFileSync(file, t);
            try {
              const config = loadServeConfig({ ...f, config: file }, {});
              expect(cron.validate(config.tick), `accepted tick "${config.tick}" that cannot run`).toBe(true);
              serveOutcome.add('accepted');
            } catch (error) {
              expect(error).toBeInstanceOf(Error);
              expect((error as Error).constructor).toBe(Error);
              expect((error as Error).message).toMatch(
                /^(invalid commander config: \S+: \S|cannot parse \S+: \S|--[\w -]+ .*: use )/s,
              );
              const kind = /^(--[\w-]+|invalid commander config: [\w.]+|cannot parse)/.exec(
                (error as Error).message,
              );
              serveOutcome.add(kind?.[1] ?? 'other');
            }
          },
        ),
        fuzzParams('commander serve config (TOML/JSON + flags)'),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
