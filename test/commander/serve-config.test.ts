import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadServeConfig } from '../../commander/server/serve.js';

const dir = mkdtempSync(join(tmpdir(), 'beam-serve-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('serve configuration', () => {
  it('reads a TOML file and lets flags override it', () => {
    const file = join(dir, 'commander.toml');
    writeFileSync(
      file,
      `listen = "127.0.0.1:9000"
stateDir = "/var/lib/beam"

[settings]
enrollmentToken = "from-the-file-0123456789"
reportIntervalMs = 2000

[settings.autoApprove]
roles = ["sentry"]

[settings.thresholds]
silentIntervals = 4

[settings.alerts]
renotifyCriticalMs = 60000
quietHours = { startHour = 22, endHour = 7 }

[[settings.chat]]
platform = "slack"
chat = "C0123"
minSeverity = "warning"
`,
    );
    const config = loadServeConfig(
      {
        config: file,
        listen: '127.0.0.1:0',
        threshold: ['minPeersWarn=1'],
        chat: ['telegram:-100200:critical'],
      },
      {},
    );
    expect(config).toMatchObject({
      listen: '127.0.0.1:0',
      stateDir: '/var/lib/beam',
      settings: {
        tableName: 'beam',
        enrollmentToken: 'from-the-file-0123456789',
        reportIntervalMs: 2000,
        autoApprove: { roles: ['sentry'] },
        thresholds: { silentIntervals: 4, minPeersWarn: 1, heightLagWarn: 5 },
        alerts: { renotifyCriticalMs: 60000, quietHours: { startHour: 22, endHour: 7 } },
        chat: [{ platform: 'telegram', chat: '-100200', minSeverity: 'critical' }],
      },
    });
  });

  it('takes the token from the environment, and names each bad field', () => {
    expect(loadServeConfig({}, { BEAM_ENROLLMENT_TOKEN: 'x'.repeat(20) }).settings.enrollmentToken).toBe(
      'x'.repeat(20),
    );
    expect(() => loadServeConfig({}, {})).toThrow(/settings\.enrollmentToken.*BEAM_ENROLLMENT_TOKEN/);
    expect(() => loadServeConfig({ listen: 'nowhere', enrollmentToken: 'x'.repeat(20) }, {})).toThrow(
      /listen: use host:port/,
    );
    expect(() =>
      loadServeConfig({ threshold: ['silentIntervals'], enrollmentToken: 'x'.repeat(20) }, {}),
    ).toThrow(/--threshold silentIntervals: use name=value/);
    expect(() => loadServeConfig({ chat: ['irc:#ops'], enrollmentToken: 'x'.repeat(20) }, {})).toThrow(
      /settings\.chat\.0\.platform/,
    );
    expect(() =>
      loadServeConfig({ autoApprove: 'sentry,validator', enrollmentToken: 'x'.repeat(20) }, {}),
    ).toThrow(/settings\.autoApprove\.roles: validators are never auto-approved/);
    const json = join(dir, 'bad.json');
    writeFileSync(json, '{ nope');
    expect(() => loadServeConfig({ config: json }, {})).toThrow(/cannot parse .*bad\.json/);
  });
});
