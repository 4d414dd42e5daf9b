import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/bundle.js';
import { BeamContext, CONTEXT_KEYS, parseBeamContext } from '../../infra/config.js';

const cdkJson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8'));

describe('Beam CDK context', () => {
  it('cdk.json runs the app with tsx and lists every key with its default value', () => {
    expect(cdkJson.app).toBe('npx tsx infra/app.ts');
    expect(Object.keys(cdkJson.context).sort()).toEqual([...CONTEXT_KEYS].sort());
    expect(parseBeamContext(cdkJson.context)).toEqual(parseBeamContext({}));
  });

  it('defaults to one fleet "beam" on cosmoshub-4, a 1-minute tick, 30-day logs, 2-4 sentries', () => {
    const ctx = parseBeamContext({});
    expect(ctx).toMatchObject({
      'beam:fleet': 'beam',
      'beam:chainId': 'cosmoshub-4',
      'beam:tickRateMinutes': 1,
      'beam:logRetentionDays': 30,
      'beam:sentryMin': 2,
      'beam:sentryDesired': 2,
      'beam:sentryMax': 4,
    });
    expect(ctx['beam:alarmEmail']).toBeUndefined();
    expect(ctx['beam:validatorConsensusAddress']).toBeUndefined();
  });

  it('accepts numbers given as strings on the command line (-c key=value) and ignores CDK keys', () => {
    const ctx = parseBeamContext({
      'beam:sentryMax': '8',
      'beam:tickRateMinutes': '2',
      'aws:cdk:bundling-stacks': [],
    });
    expect(ctx['beam:sentryMax']).toBe(8);
    expect(ctx['beam:tickRateMinutes']).toBe(2);
  });

  it('rejects a misspelt key, listing the known ones', () => {
    expect(() => parseBeamContext({ 'beam:fleetName': 'x' })).toThrow(
      /unknown context key\(s\) beam:fleetName: known keys are beam:fleet, beam:chainId/,
    );
  });

  it('names the key and the fix for a bad value', () => {
    expect(() => parseBeamContext({ 'beam:fleet': 'Main Net' })).toThrow(
      /context beam:fleet: use 1-31 lowercase/,
    );
    expect(() => parseBeamContext({ 'beam:logRetentionDays': 31 })).toThrow(
      /context beam:logRetentionDays: use one of CloudWatch's retention periods: 1, 3, 5/,
    );
    expect(() => parseBeamContext({ 'beam:validatorConsensusAddress': 'cosmosvalcons1xyz' })).toThrow(
      /beam:validatorConsensusAddress: use the 40-hex uppercase consensus address/,
    );
    expect(() => parseBeamContext({ 'beam:alarmEmail': 'ops' })).toThrow(
      /beam:alarmEmail: use an e-mail address/,
    );
  });

  it('requires sentryMin <= sentryDesired <= sentryMax', () => {
    expect(() => parseBeamContext({ 'beam:sentryDesired': 5 })).toThrow(
      /use sentryMin <= sentryDesired <= sentryMax/,
    );
  });

  it('takes an external commander as URL and secret ARN together, or neither', () => {
    expect(() => parseBeamContext({ 'beam:commanderUrl': 'https://beam.example.org' })).toThrow(/set both/);
    const ctx = parseBeamContext({
      'beam:commanderUrl': 'https://beam.example.org',
      'beam:enrollmentTokenSecretArn': 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:x-AbCdEf',
    });
    expect(ctx['beam:commanderUrl']).toBe('https://beam.example.org');
  });

  it('takes objects (AMIs, settings) from cdk.json as objects and from -c as JSON text', () => {
    const ami = { arm64: 'ami-0a1b2c3d4e5f60718', x86_64: 'ami-0f1e2d3c4b5a69788' };
    expect(parseBeamContext({ 'beam:ami': JSON.stringify(ami) })['beam:ami']).toEqual(ami);
    expect(parseBeamContext({ 'beam:ami': ami })['beam:ami']).toEqual(ami);
    expect(parseBeamContext({ 'beam:settings': '{"chat":[]}' })['beam:settings']).toEqual({ chat: [] });
    expect(() => parseBeamContext({ 'beam:ami': { arm64: 'ubuntu' } })).toThrow(
      /context beam:ami\.arm64: use an AMI id such as "ami-0123456789abcdef0"/,
    );
    expect(() => parseBeamContext({ 'beam:ami': { aarch64: ami.arm64 } })).toThrow(
      /context beam:ami: use \{"arm64": "ami-…", "x86_64": "ami-…"\}/,
    );
    expect(() => parseBeamContext({ 'beam:settings': 'chat=slack' })).toThrow(
      /context beam:settings: use a JSON object of commander settings/,
    );
    expect(() => parseBeamContext({ 'beam:settingsFile': 'settings.yaml' })).toThrow(
      /context beam:settingsFile: use the path of a \.json file/,
    );
    expect(() => parseBeamContext({ 'beam:settingsParameterKey': 'alias/beam' })).toThrow(
      /context beam:settingsParameterKey: use the ARN of the KMS key .*, not an alias/,
    );
  });

  it('is a strict schema over beam: keys only', () => {
    expect(BeamContext.safeParse({ 'beam:nope': 1 }).success).toBe(false);
  });
});
