/**
 * The sentries' boot with a chain binary and state sync: the context is checked at synth as the
 * pilot will check it, and what reaches the user data is a config the pilot accepts, with the binary
 * it installs before the daemon's first start.
 */
import { describe, expect, it } from 'vitest';
import { buildBeamApp } from '../../infra/beam-app.js';
import { parseBeamContext } from '../../infra/config.js';
import { daemonBinaryProblems, type PilotBoot, pilotConfigToml } from '../../infra/pilot-boot.js';
import { binarySpec } from '../../pilot/binary-install.js';
import { parseConfig } from '../../pilot/config.js';
import { joinText, offlineApp, resourcesOf, templateOf } from './synth.js';

const HOME = '/home/gaia/.gaia';
const SHA = 'ab'.repeat(32);
const URL_ = 'https://github.com/cosmos/gaia/releases/download/v19.0.0/gaiad-v19.0.0-linux-arm64';
const PATH = `${HOME}/cosmovisor/genesis/bin/gaiad`;

const boot = (role: PilotBoot['role'], extra: Partial<PilotBoot> = {}): PilotBoot => ({
  role,
  chainId: 'cosmoshub-4',
  daemonUnit: 'gaiad.service',
  daemonHome: HOME,
  daemonUser: 'gaia',
  commanderUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com',
  enrollmentTokenSecretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:Enroll-AbCdEf',
  region: 'eu-west-1',
  assetUrl: 's3://bucket/asset.zip',
  ...(role === 'validator' ? { consensusAddress: '0123456789ABCDEF0123456789ABCDEF01234567' } : {}),
  ...extra,
});

/** The config as the instance writes it: the heredoc's variables expanded from the metadata. */
const configOf = (b: PilotBoot) =>
  parseConfig(
    pilotConfigToml(b, '"sentry-i-0abc"').replaceAll('$PRIVATE_IP', '10.0.0.7'),
    '/etc/beam/pilot.toml',
  );

describe('pilot boot: the chain binary and state sync', () => {
  it('gives a sentry the binary (registry checksum or sha256) and state sync; every node serves its RPC', () => {
    const registry = configOf(
      boot('sentry', { daemonBinary: { url: `${URL_}?checksum=sha256:${SHA}`, path: PATH } }),
    );
    expect(registry.bootstrap.state_sync).toBe(true);
    expect(registry.daemon.state_sync_rpc_url).toBe('http://10.0.0.7:26657');
    expect(binarySpec(registry)).toEqual({ url: URL_, sha256: SHA, path: PATH, timeoutMs: 600_000 });

    const plain = configOf(
      boot('sentry', { daemonBinary: { url: URL_, sha256: SHA.toUpperCase(), path: PATH } }),
    );
    expect(binarySpec(plain)).toMatchObject({ url: URL_, sha256: SHA, path: PATH });

    // Without a binary the AMI brings one: the sentry still waits for state sync on an empty disk.
    const bare = configOf(boot('sentry'));
    expect(bare.daemon.binary).toBeUndefined();
    expect(bare.bootstrap.state_sync).toBe(true);

    const validator = configOf(boot('validator', { daemonBinary: { url: URL_, sha256: SHA, path: PATH } }));
    expect(validator.daemon.binary).toBeUndefined();
    expect(validator.bootstrap.state_sync).toBe(false);
    expect(validator.daemon.state_sync_rpc_url).toBe('http://10.0.0.7:26657');
  });

  it('refuses at synth what the pilot would refuse, naming the context key and the fix', () => {
    expect(daemonBinaryProblems({}, HOME)).toEqual([]);
    expect(daemonBinaryProblems({ url: URL_, sha256: SHA, path: PATH }, HOME)).toEqual([]);
    expect(daemonBinaryProblems({ url: `${URL_}?checksum=sha256:${SHA}`, path: PATH }, HOME)).toEqual([]);
    const problems = (binary: Parameters<typeof daemonBinaryProblems>[0]) =>
      daemonBinaryProblems(binary, HOME).join('\n');
    expect(problems({ sha256: SHA })).toMatch(/^context beam:daemonBinaryUrl: missing/);
    expect(problems({ url: URL_, path: PATH })).toMatch(
      /beam:daemonBinarySha256: missing.*\?checksum=sha256/,
    );
    expect(problems({ url: `${URL_}?checksum=sha256:${'cd'.repeat(32)}`, sha256: SHA, path: PATH })).toMatch(
      /beam:daemonBinarySha256: differs from beam:daemonBinaryUrl's \?checksum=sha256:cdcd/,
    );
    expect(problems({ url: `${URL_}?checksum=md5:abc`, path: PATH })).toMatch(
      /beam:daemonBinaryUrl: \?checksum=md5:abc: Beam checks sha256/,
    );
    expect(problems({ url: URL_.replace('https', 'http'), sha256: SHA, path: PATH })).toMatch(
      /beam:daemonBinaryUrl: use an https:\/\/ URL/,
    );
    expect(problems({ url: `${URL_}$(reboot)`, sha256: SHA, path: PATH })).toMatch(/would expand \$/);
    expect(problems({ url: URL_, sha256: SHA })).toMatch(
      /beam:daemonBinaryPath: missing: .*inside beam:daemonHome/,
    );
    expect(problems({ url: URL_, sha256: SHA, path: '/usr/local/bin/gaiad' })).toMatch(
      /beam:daemonBinaryPath: \/usr\/local\/bin\/gaiad is outside beam:daemonHome \(\/home\/gaia\/\.gaia\)/,
    );
    expect(() => parseBeamContext({ 'beam:daemonBinaryUrl': URL_, 'beam:daemonBinaryPath': PATH })).toThrow(
      /Beam CDK context is invalid:\n {2}context beam:daemonBinarySha256: missing/,
    );
  });

  it("puts the context's binary into the sentries' user data only", () => {
    const app = offlineApp({
      'beam:validatorConsensusAddress': '0123456789ABCDEF0123456789ABCDEF01234567',
      'beam:ami': { arm64: 'ami-0a1b2c3d4e5f60718' },
      'beam:daemonBinaryUrl': `${URL_}?checksum=sha256:${SHA}`,
      'beam:daemonBinaryPath': PATH,
    });
    const stack = buildBeamApp(app).network!;
    const template = templateOf(stack);
    const launch = Object.values(resourcesOf(template, 'AWS::EC2::LaunchTemplate'))
      .map((lt) => (lt.Properties!.LaunchTemplateData as { UserData?: unknown }).UserData)
      .filter(Boolean)
      .map((u) => joinText(u, () => 'TOKEN'));
    const sentry = launch.filter((text) => text.includes('sentry-$INSTANCE_ID'));
    expect(sentry).toHaveLength(1);
    expect(sentry[0]).toContain(`[daemon.binary]\nurl = "${URL_}?checksum=sha256:${SHA}"\npath = "${PATH}"`);
    expect(sentry[0]).toContain('[bootstrap]\nstate_sync = true');
    const validators = Object.values(resourcesOf(template, 'AWS::EC2::Instance')).map((i) =>
      joinText(i.Properties!.UserData, () => 'TOKEN'),
    );
    expect(validators).toHaveLength(2);
    for (const text of validators) {
      expect(text).not.toContain('[daemon.binary]');
      expect(text).toContain('state_sync_rpc_url = "http://$PRIVATE_IP:26657"');
    }
  });
});
