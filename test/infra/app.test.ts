import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/bundle.js';

const out = mkdtempSync(path.join(tmpdir(), 'beam-cdk-app-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('infra/app.ts', () => {
  // The app registers cdk-nag as a validation plugin: any unacknowledged finding fails the process.
  it('synthesizes both stacks through the cdk-nag validation plugin, as `cdk synth` runs it', async () => {
    const context = {
      'aws:cdk:bundling-stacks': [],
      'beam:validatorConsensusAddress': '0123456789ABCDEF0123456789ABCDEF01234567',
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
    expect(Object.keys(manifest.artifacts)).toEqual(expect.arrayContaining(['BeamCommander', 'BeamNetwork']));
    const network = JSON.parse(readFileSync(path.join(out, 'BeamNetwork.template.json'), 'utf8'));
    expect(JSON.stringify(network)).toContain('BeamCommander:ExportsOutput');
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
