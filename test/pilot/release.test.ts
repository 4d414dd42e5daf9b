/**
 * The pilot release as operators get it: `npm run release`'s folder and tarball, install.sh run
 * against it (below a --root), and a pilot upgrading to it and rolling back (pilot/upgrade.ts). One
 * real release is built for the whole file.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSums, sameDigest, sha256Hex } from '../../pilot/checksums.js';
import { EXAMPLE_CONFIG } from '../../pilot/config.js';
import { buildRelease, packRelease, type Release } from '../../pilot/release.js';
import { parseTimespanMs, polkitPkla, polkitProblem, polkitRules } from '../../pilot/systemd-files.js';
import { packTar, readTar } from '../../pilot/tar.js';
import { PilotReleases } from '../../pilot/upgrade.js';
import { PILOT_VERSION } from '../../pilot/version.js';

const run = promisify(execFile);
const NEXT = '0.1.1';
let dir: string;
let release: Release;
/** A directory of fake commands put first on install.sh's PATH. */
let bin: string;

async function fakeCommand(name: string, script: string): Promise<void> {
  await fs.writeFile(path.join(bin, name), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
}

async function install(root: string, extraEnv: Record<string, string> = {}, args: string[] = []) {
  const user = os.userInfo().username;
  try {
    const r = await run(
      'sh',
      [
        path.join(release.dir, 'install.sh'),
        '--root',
        root,
        '--user',
        user,
        '--unit',
        'gaiad.service',
        '--home',
        '/home/gaia/.gaia',
        ...args,
      ],
      { env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, ...extraEnv }, timeout: 30_000 },
    );
    return { code: 0, out: r.stdout + r.stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pilot-release-'));
  bin = path.join(dir, 'bin');
  await fs.mkdir(bin);
  release = await buildRelease({ outDir: path.join(dir, 'out'), version: NEXT });
}, 60_000);

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('release files', () => {
  it('packs tar files GNU tar reads, and reads what GNU tar packs', async () => {
    const data = Buffer.from('x'.repeat(700));
    const tar = packTar('beam-pilot-9.9.9', [{ name: 'a.txt', data, mode: 0o644 }]);
    expect(readTar(tar).get('beam-pilot-9.9.9/a.txt')).toEqual(data);
    const file = path.join(dir, 'gnu.tar');
    await run('tar', ['-cf', file, '-C', release.dir, '.']);
    const files = readTar(await fs.readFile(file));
    expect(files.get('./VERSION')?.toString()).toBe(`${NEXT}\n`);
    expect(() => readTar(tar.subarray(0, 600))).toThrow(/truncated/);
  });

  it('compares digests as bytes and reads sha256sum files', () => {
    const d = sha256Hex('beam');
    expect(sameDigest(d, d.toUpperCase())).toBe(true);
    expect(sameDigest(d, sha256Hex('other'))).toBe(false);
    expect(sameDigest(d, d.slice(0, 63))).toBe(false);
    expect(parseSums(`${d}  a.txt\n${d} *b.bin\n`)).toEqual(
      new Map([
        ['a.txt', d],
        ['b.bin', d],
      ]),
    );
    expect(() => parseSums(`${d} ../etc/passwd\n`)).toThrow(/line 1/);
  });

  it('reads systemd time spans and checks polkit files', () => {
    expect(parseTimespanMs('1min 30s')).toBe(90_000);
    expect(parseTimespanMs('10s')).toBe(10_000);
    expect(parseTimespanMs('500ms')).toBe(500);
    expect(parseTimespanMs('infinity')).toBe(Number.POSITIVE_INFINITY);
    expect(parseTimespanMs('soon')).toBeNull();
    const rules = polkitRules('gaia', 'gaiad.service');
    expect(polkitProblem('/x.rules', rules, 'gaia', 'gaiad.service')).toBeNull();
    expect(polkitProblem('/x.rules', rules.replace('"kill"', '"reload"'), 'gaia', 'gaiad.service')).toMatch(
      /verb kill/,
    );
    expect(polkitProblem('/x.rules', rules, 'gaia', 'other.service')).toMatch(/unit other\.service/);
    expect(polkitProblem('/x.pkla', polkitPkla('gaia'), 'gaia', 'gaiad.service')).toBeNull();
    expect(polkitProblem('/x.pkla', polkitPkla('bob'), 'gaia', 'gaiad.service')).toMatch(/to gaia/);
  });
});

describe('npm run release', () => {
  it('writes the versioned folder, its SHA256SUMS, the tarball and its sha256', async () => {
    expect(path.basename(release.tarball)).toBe(`beam-pilot-${NEXT}.tar.gz`);
    expect((await fs.readdir(release.dir)).sort()).toEqual([
      'README.md',
      'SHA256SUMS',
      'VERSION',
      'beam-pilot.mjs',
      'beam-pilot.pkla',
      'beam-pilot.rules',
      'beam-pilot.service',
      'daemon-stop-timeout.conf',
      'install.sh',
    ]);
    await run('sha256sum', ['-c', '--quiet', 'SHA256SUMS'], { cwd: release.dir });
    expect(await fs.readFile(`${release.tarball}.sha256`, 'utf8')).toBe(
      `${release.sha256}  beam-pilot-${NEXT}.tar.gz\n`,
    );
    expect(sha256Hex(await fs.readFile(release.tarball))).toBe(release.sha256);
    const unit = await fs.readFile(path.join(release.dir, 'beam-pilot.service'), 'utf8');
    expect(unit).toMatch(/^LimitNOFILE=\d+$/m);
    expect(unit).toMatch(
      /^ExecStart=\/usr\/bin\/node \/usr\/local\/lib\/beam\/current\/beam-pilot\.mjs start /m,
    );
    expect(unit).toMatch(/^Restart=always$/m);
    // The bundle runs on its own and says the release's version.
    const bundle = path.join(release.dir, 'beam-pilot.mjs');
    expect((await run(process.execPath, [bundle, 'version'])).stdout.trim()).toBe(NEXT);
    expect((await run(process.execPath, [bundle, 'start', '--help'])).stdout).toMatch(
      /leave the daemon as it is/,
    );
  });
});

describe('install.sh', () => {
  it('installs on polkit 0.105 with a .pkla, never overwrites a config, and takes polkit rules from 0.106', async () => {
    const root = path.join(dir, 'root');
    await fakeCommand('pkaction', 'echo "pkaction version 0.105"');
    const first = await install(root, {}, ['--stop-timeout-ms', '8000']);
    expect(first.code, first.out).toBe(0);
    expect(first.out).toMatch(/wrote an example \/etc\/beam\/pilot\.toml/);
    const lib = path.join(root, 'usr/local/lib/beam');
    expect(await fs.readlink(path.join(lib, 'current'))).toBe(`releases/${NEXT}`);
    await run('sha256sum', ['-c', '--quiet', 'SHA256SUMS'], { cwd: path.join(lib, 'releases', NEXT) });
    const user = os.userInfo().username;
    const pkla = await fs.readFile(
      path.join(root, 'etc/polkit-1/localauthority/50-local.d/50-beam-pilot.pkla'),
      'utf8',
    );
    expect(polkitProblem('x.pkla', pkla, user, 'gaiad.service')).toBeNull();
    expect(
      await fs.readFile(
        path.join(root, 'etc/systemd/system/gaiad.service.d/50-beam-stop-timeout.conf'),
        'utf8',
      ),
    ).toMatch(/^TimeoutStopSec=8000ms$/m);
    const dropIn = await fs.readFile(
      path.join(root, 'etc/systemd/system/beam-pilot.service.d/10-install.conf'),
      'utf8',
    );
    expect(dropIn).toMatch(new RegExp(`^User=${user}$`, 'm'));
    expect(dropIn).toMatch(
      /^ReadWritePaths=\/var\/lib\/beam-pilot \/home\/gaia\/\.gaia \/usr\/local\/lib\/beam$/m,
    );
    expect(dropIn).toMatch(
      /^ExecStart=\/.*node \/usr\/local\/lib\/beam\/current\/beam-pilot\.mjs start --config \/etc\/beam\/pilot\.toml$/m,
    );
    const config = path.join(root, 'etc/beam/pilot.toml');
    expect(await fs.readFile(config, 'utf8')).toBe(EXAMPLE_CONFIG);

    await fs.writeFile(config, '# mine\n');
    await fakeCommand('pkaction', 'echo "pkaction version 124"');
    const again = await install(root);
    expect(again.code, again.out).toBe(0);
    expect(again.out).toMatch(/kept the existing \/etc\/beam\/pilot\.toml/);
    expect(await fs.readFile(config, 'utf8')).toBe('# mine\n');
    const rules = await fs.readFile(path.join(root, 'etc/polkit-1/rules.d/50-beam-pilot.rules'), 'utf8');
    expect(polkitProblem('x.rules', rules, user, 'gaiad.service')).toBeNull();
    // One format at a time: the .pkla (which grants every unit) is gone.
    await expect(
      fs.access(path.join(root, 'etc/polkit-1/localauthority/50-local.d/50-beam-pilot.pkla')),
    ).rejects.toThrow();
  });

  it('refuses an old Node.js with the way to a new one, and a release whose files changed', async () => {
    await fakeCommand('old-node', 'echo 18.19.1');
    const old = await install(path.join(dir, 'root-old'), { NODE: path.join(bin, 'old-node') });
    expect(old.code).toBe(1);
    expect(old.out).toMatch(/Node\.js 18\.19\.1; beam-pilot needs >= 20\.19/);
    expect(old.out).toMatch(/deb\.nodesource\.com\/setup_22\.x/);
    expect(old.out).toMatch(/distribution's nodejs/);

    const copy = path.join(dir, 'tampered');
    await fs.cp(release.dir, copy, { recursive: true });
    await fs.appendFile(path.join(copy, 'beam-pilot.mjs'), '\n// changed\n');
    const r = await run('sh', [
      path.join(copy, 'install.sh'),
      '--home',
      '/x',
      '--root',
      path.join(dir, 'root-t'),
    ]).catch((e: { code: number; stderr: string }) => e);
    expect((r as { code: number }).code).toBe(1);
    expect((r as { stderr: string }).stderr).toMatch(/do not match SHA256SUMS/);
  });
});

describe('a pilot upgrading itself (upgrade-pilot, rollback-pilot)', () => {
  it('installs only a verified release that passes its check, switches current, and rolls back', async () => {
    const installDir = path.join(dir, 'pilot-lib');
    const configFile = path.join(dir, 'pilot.toml');
    await fs.writeFile(configFile, EXAMPLE_CONFIG);
    const releases = new PilotReleases({ installDir, configFile, downloadTimeoutMs: 10_000 });
    const up = { version: NEXT, source: release.tarball, sha256: release.sha256 };

    const wrong = await releases.upgrade({ ...up, sha256: sha256Hex('not it') });
    expect(wrong).toMatchObject({ restart: false, outcome: { ok: false } });
    expect(wrong.outcome.message).toMatch(
      new RegExp(`has sha256 ${release.sha256}, not [0-9a-f]{64}: nothing installed`),
    );

    // A broken build: its checksums are right, but it cannot start with this node's config.
    const broken = await packRelease(
      path.join(dir, 'broken'),
      '0.1.2',
      new Map([
        ['beam-pilot.mjs', Buffer.from("throw new Error('broken build');\n")],
        ['VERSION', Buffer.from('0.1.2\n')],
      ]),
    );
    const bad = await releases.upgrade({ version: '0.1.2', source: broken.tarball, sha256: broken.sha256 });
    expect(bad.outcome.ok).toBe(false);
    expect(bad.outcome.message).toMatch(
      /0\.1\.2 fails its check with this node's config \(.*broken build.*\): still running/,
    );
    await expect(fs.readlink(path.join(installDir, 'current'))).rejects.toThrow();

    const good = await releases.upgrade(up);
    expect(good).toMatchObject({ restart: true, outcome: { ok: true } });
    expect(good.outcome.message).toBe(
      `installed ${NEXT} (sha256 verified) next to ${PILOT_VERSION}; restarting into it`,
    );
    expect(await fs.readlink(path.join(installDir, 'current'))).toBe(`releases/${NEXT}`);
    expect((await fs.readdir(path.join(installDir, 'releases'))).sort()).toEqual([NEXT]);

    // A tarball that is not the release it claims to be.
    const renamed = await packRelease(
      path.join(dir, 'renamed'),
      '0.1.3',
      new Map([['VERSION', Buffer.from('0.1.3\n')]]),
    );
    const notIt = await releases.upgrade({
      version: '0.1.4',
      source: renamed.tarball,
      sha256: renamed.sha256,
    });
    expect(notIt.outcome.message).toMatch(/holds no beam-pilot-0\.1\.4\/beam-pilot\.mjs/);
    const junk = gzipSync('not a tar');
    const junkFile = path.join(dir, 'junk.tar.gz');
    await fs.writeFile(junkFile, junk);
    expect(
      (await releases.upgrade({ ...up, version: '0.1.5', source: junkFile, sha256: sha256Hex(junk) })).outcome
        .message,
    ).toMatch(/not a good release: not a gzipped tar/);

    // Back to the installed release: verified against its SHA256SUMS; this process runs another version.
    expect(await releases.rollback(NEXT)).toMatchObject({ restart: true, outcome: { ok: true } });
    expect((await releases.rollback('0.0.9')).outcome.message).toMatch(/no release 0\.0\.9/);
    expect(await releases.rollback(PILOT_VERSION)).toMatchObject({ restart: false, outcome: { ok: true } });
    await fs.appendFile(path.join(installDir, 'releases', NEXT, 'beam-pilot.mjs'), '\n');
    expect((await releases.rollback(NEXT)).outcome.message).toMatch(
      /damaged: beam-pilot\.mjs does not match its SHA256SUMS line/,
    );
  });
});
