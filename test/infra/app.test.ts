import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { addFleet, stackNames } from '../../infra/beam-app.js';
import { REPO_ROOT } from '../../infra/bundle.js';
import { parseBeamContext } from '../../infra/config.js';
import { offlineApp } from './synth.js';

const out = mkdtempSync(path.join(tmpdir(), 'beam-cdk-app-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('infra/app.ts', () => {
  // The app registers cdk-nag as a validation plugin: any unacknowledged finding fails the process.
  it('synthesizes both stacks through the cdk-nag validation plugin, as `cdk synth` runs it', async () => {
    const context = {
      'aws:cdk:bundling-stacks': [],
      'beam:validatorConsensusAddress': '0123456789ABCDEF0123456789ABCDEF01234567',
      'beam:ami': '{"arm64":"ami-0a1b2c3d4e5f60718"}',
      'beam:settingsFile': 'infra/examples/settings.json',
    };
    await promisify(execFile)(process.execPath, ['--import', 'tsx', 'infra/app.ts'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        CDK_OUTDIR: out,
        CDK_CONTEXT_JSON: JSON.stringify(context),
        CDK_VALIDATION: 'false',
      },
      timeout: 45_000,
    });
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    const names = stackNames('beam');
    expect(Object.keys(manifest.artifacts)).toEqual(expect.arrayContaining([names.commander, names.network]));
    const network = JSON.parse(readFileSync(path.join(out, `${names.network}.template.json`), 'utf8'));
    expect(JSON.stringify(network)).toContain(`${names.commander}:ExportsOutput`);
  });

  it('fails the synth with the key and the fix when the context is wrong', async () => {
    const run = promisify(execFile)(process.execPath, ['--import', 'tsx', 'infra/app.ts'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        CDK_OUTDIR: out,
        CDK_CONTEXT_JSON: JSON.stringify({ 'beam:sentryMax': 'lots' }),
      },
      timeout: 45_000,
    });
    await expect(run).rejects.toThrow(/context beam:sentryMax: /);
  });
});

/** Properties that name a resource in the account and region: two resources may not share one. */
const PHYSICAL_NAMES = [
  'TableName',
  'FunctionName',
  'RoleName',
  'LogGroupName',
  'TopicName',
  'AlarmName',
  'LaunchTemplateName',
  'AutoScalingGroupName',
  'GroupName',
  'AliasName',
];

describe('fleets', () => {
  it('puts two fleets in one app (one account and region) with nothing named alike', () => {
    const app = offlineApp();
    const context = {
      'beam:validatorConsensusAddress': '0123456789ABCDEF0123456789ABCDEF01234567',
      'beam:ami': { arm64: 'ami-0a1b2c3d4e5f60718' },
    };
    addFleet(app, parseBeamContext({ ...context, 'beam:fleet': 'mainnet' }));
    addFleet(app, parseBeamContext({ ...context, 'beam:fleet': 'testnet' }));
    const stacks = app.synth().stacks;
    expect(stacks.map((s) => s.stackName).sort()).toEqual([
      'Beam-mainnet-Commander',
      'Beam-mainnet-Network',
      'Beam-testnet-Commander',
      'Beam-testnet-Network',
    ]);
    const named: string[] = [];
    const exported: string[] = [];
    for (const stack of stacks) {
      const template = stack.template as {
        Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
        Outputs?: Record<string, { Export?: { Name: string } }>;
      };
      for (const resource of Object.values(template.Resources)) {
        for (const key of PHYSICAL_NAMES) {
          const value = resource.Properties?.[key];
          if (typeof value === 'string') named.push(`${resource.Type} ${value}`);
        }
      }
      for (const output of Object.values(template.Outputs ?? {})) {
        if (output.Export) exported.push(output.Export.Name);
      }
      // Each network imports its own fleet's commander.
      if (stack.stackName.endsWith('-Network')) {
        const fleet = stack.stackName.split('-')[1];
        expect(JSON.stringify(template)).toContain(`Beam-${fleet}-Commander:ExportsOutput`);
        expect(JSON.stringify(template)).not.toContain(
          `Beam-${fleet === 'mainnet' ? 'testnet' : 'mainnet'}-`,
        );
      }
    }
    // The validators' IMDSv2 launch templates are the only resources named in the templates.
    expect(named.filter((n) => n.startsWith('AWS::EC2::LaunchTemplate'))).toHaveLength(4);
    expect(new Set(named).size).toBe(named.length);
    expect(exported.length).toBeGreaterThan(0);
    expect(new Set(exported).size).toBe(exported.length);
  });
});
