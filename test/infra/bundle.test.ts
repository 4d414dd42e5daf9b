import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BundleFile,
  bundleCommander,
  COMMANDER_ENTRIES,
  LAMBDA_BUNDLE,
  REPO_ROOT,
} from '../../infra/bundle.js';
import { CommanderStack } from '../../infra/commander-stack.js';
import { offlineApp, templateOf } from './synth.js';

// Inside the repository (git-ignored), so the bundles resolve the SDK they leave external.
const cache = path.join(REPO_ROOT, 'node_modules', '.cache');
mkdirSync(cache, { recursive: true });
const work = mkdtempSync(path.join(cache, 'beam-infra-bundle-'));
const ENTRY = 'test/infra/fixtures/lambda-entry.ts';
const FIXTURE_ENTRIES = { pilot: ENTRY, slack: ENTRY, telegram: ENTRY, pagerduty: ENTRY, tick: ENTRY };
let ours: BundleFile[];
let real: BundleFile[];
let cdkBundles: string[];

beforeAll(async () => {
  // CDK bundles this stack itself (its local esbuild), as on deploy.
  const app = offlineApp({ 'aws:cdk:bundling-stacks': ['**'] }, path.join(work, 'cdk.out'));
  const stack = new CommanderStack(app, 'Bundled', {
    fleet: 'beam',
    logRetention: RetentionDays.ONE_WEEK,
    entries: FIXTURE_ENTRIES,
  });
  templateOf(stack);
  const outdir = path.join(work, 'cdk.out');
  cdkBundles = readdirSync(outdir)
    .filter((dir) => dir.startsWith('asset.'))
    .map((dir) => path.join(outdir, dir, LAMBDA_BUNDLE.outFile));
  ours = await bundleCommander(path.join(work, 'ours'), FIXTURE_ENTRIES);
  real = await bundleCommander(path.join(work, 'real'), COMMANDER_ENTRIES);
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('bundleCommander', () => {
  it('produces byte for byte the bundle CDK deploys', () => {
    expect(cdkBundles).toHaveLength(1); // the functions share the fixture entry, hence one asset
    expect(ours.map((b) => b.name)).toEqual(['pilot', 'slack', 'telegram', 'pagerduty', 'tick']);
    for (const bundle of ours) {
      expect(bundle.bytes).toBeGreaterThan(1000);
      expect(readFileSync(bundle.file)).toEqual(readFileSync(cdkBundles[0]!));
    }
  });

  it('emits minified ESM with the createRequire banner, a source map, and the AWS SDK left external', () => {
    const code = readFileSync(ours[0]!.file, 'utf8');
    expect(code.startsWith(LAMBDA_BUNDLE.banner)).toBe(true);
    expect(code).toMatch(/from"@aws-sdk\/client-dynamodb"/);
    expect(code).not.toMatch(/DynamoDBClient extends/);
    expect(code).toMatch(/\/\/# sourceMappingURL=index\.mjs\.map\s*$/);
    expect(JSON.parse(readFileSync(`${ours[0]!.file}.map`, 'utf8')).sources.join(' ')).toContain(
      'lambda-entry.ts',
    );
    expect(code.length / code.split('\n').length, 'average line length of minified code').toBeGreaterThan(
      1000,
    );
  });

  it('runs under Node as an ES module, CommonJS dependencies included', () => {
    const script = `const m = await import(${JSON.stringify(ours[0]!.file)}); console.log(JSON.stringify(await m.handler({ n: 41 })));`;
    const out = JSON.parse(
      execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }),
    );
    expect(out).toMatchObject({ n: 42, sdk: true });
    expect(out.metrics).toContain('fixture_calls_total 1');
  });
});

describe('the commander bundles', () => {
  const packages = (name: string) => Object.keys(real.find((b) => b.name === name)!.inputs);
  const code = (name: string) => readFileSync(real.find((b) => b.name === name)!.file, 'utf8');
  const CHAT = ['@slack/bolt', '@slack/web-api', '@slack/socket-mode', 'telegraf', 'node-fetch', 'axios'];

  it('hold only what their route imports: no chat framework in the pilot API, PagerDuty or the tick, no EC2 but in the tick', () => {
    for (const name of ['pilot', 'pagerduty', 'tick'])
      for (const pkg of CHAT) expect(packages(name), name).not.toContain(pkg);
    expect(packages('slack')).toContain('@slack/bolt');
    expect(packages('slack')).not.toContain('telegraf');
    expect(packages('telegram')).toContain('telegraf');
    expect(packages('telegram').filter((p) => p.startsWith('@slack/'))).toEqual([]);
    // The AWS SDK stays external; only the tick loads the EC2 client at all, with `require` when
    // its adapter is built (no ES import, which cost its cold start most of its init time).
    for (const name of ['pilot', 'slack', 'telegram', 'pagerduty'])
      expect(code(name)).not.toMatch(/@aws-sdk\/client-ec2/);
    expect(code('tick')).toMatch(/\("@aws-sdk\/client-ec2"\)/);
    expect(code('tick')).not.toMatch(/from"@aws-sdk\/client-ec2"|import\("@aws-sdk\/client-ec2"\)/);
    for (const name of Object.keys(COMMANDER_ENTRIES))
      expect(packages(name)).not.toContain('commander/server');
  });

  it('keep the pilot API within its 400 KiB budget', () => {
    expect(real.find((b) => b.name === 'pilot')!.bytes).toBeLessThanOrEqual(400 * 1024);
  });
});
