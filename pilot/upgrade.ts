/**
 * The pilot's own releases on its node (`upgrade-pilot`, `rollback-pilot`). An install holds
 * `releases/<version>/` (a release's files and its SHA256SUMS) and `current`, a link to the one
 * the service runs (the systemd unit starts `<install_dir>/current/beam-pilot.mjs`). A new release
 * goes next to the running one; only a bundle that passes its own `check` with this node's config
 * becomes `current`, in one rename; then the pilot exits and its service manager starts it.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { parseSums, sameDigest, sha256Hex, sumProblems } from './checksums.js';
import { download } from './download.js';
import type { Outcome } from './ledger.js';
import { readTar } from './tar.js';
import { PILOT_VERSION } from './version.js';

const run = promisify(execFile);

/** A release tarball is a few MB; anything near this is not one. */
const MAX_TARBALL_BYTES = 64 * 1024 * 1024;
const BUNDLE = 'beam-pilot.mjs';
const CHECK_TIMEOUT_MS = 60_000;

export interface ReleaseOptions {
  /** Holds `releases/` and `current` (config `upgrade.install_dir`). */
  installDir: string;
  /** The config file this pilot runs with: a new bundle must accept it before it is switched to. */
  configFile: string | null;
  downloadTimeoutMs: number;
}

/** What an upgrade or rollback did; `restart`: `current` now names another version than this process runs. */
export interface ReleaseOutcome {
  outcome: Outcome;
  restart: boolean;
}

const failed = (message: string): ReleaseOutcome => ({ outcome: { ok: false, message }, restart: false });

/** The bytes at `source`: an absolute path on this node, or an https URL (http on loopback; protocol/release.ts). */
async function fetchRelease(source: string, timeoutMs: number): Promise<Buffer> {
  if (source.startsWith('/')) {
    const { size } = await fs.stat(source);
    if (size > MAX_TARBALL_BYTES) throw new Error(`${source} is ${size} bytes: not a release tarball`);
    return fs.readFile(source);
  }
  const chunks: Buffer[] = [];
  await download(source, { timeoutMs, maxBytes: MAX_TARBALL_BYTES, what: 'a release tarball' }, (chunk) => {
    chunks.push(Buffer.from(chunk));
  });
  return Buffer.concat(chunks);
}

/** A release's files from its tarball: the flat folder `beam-pilot-<version>/`, checked against its SHA256SUMS. */
function unpack(tarball: Buffer, version: string): Map<string, Buffer> | string {
  let entries: Map<string, Buffer>;
  try {
    entries = readTar(gunzipSync(tarball, { maxOutputLength: 4 * MAX_TARBALL_BYTES }));
  } catch (error) {
    return `not a gzipped tar (${(error as Error).message})`;
  }
  const folder = `beam-pilot-${version}/`;
  const files = new Map<string, Buffer>();
  for (const [name, data] of entries) {
    const file = name.startsWith(folder) ? name.slice(folder.length) : '';
    if (file && !file.includes('/')) files.set(file, data);
  }
  if (!files.has(BUNDLE)) return `it holds no ${folder}${BUNDLE}: is it the release of ${version}?`;
  const problems = releaseProblems(files, version);
  return problems ?? files;
}

/** Why a release's files are not the release of `version`, or null: SHA256SUMS covers the bundle and every file matches. */
function releaseProblems(files: ReadonlyMap<string, Buffer>, version: string): string | null {
  const text = files.get('SHA256SUMS');
  if (!text) return 'it has no SHA256SUMS';
  let sums: Map<string, string>;
  try {
    sums = parseSums(text.toString('utf8'));
  } catch (error) {
    return (error as Error).message;
  }
  if (!sums.has(BUNDLE) || !sums.has('VERSION')) return `its SHA256SUMS does not cover ${BUNDLE} and VERSION`;
  const problems = sumProblems(sums, files);
  if (problems.length > 0) return problems.join('; ');
  const stated = files.get('VERSION')?.toString('utf8').trim();
  return stated === version ? null : `its VERSION says ${stated}, not ${version}`;
}

/** The error in a failed command's stderr (a thrown error, or the pilot's own message), without the stack. */
function firstError(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const at = Math.max(
    0,
    lines.findIndex((l) => /^(\w*Error\b|beam-pilot:|config )/.test(l)),
  );
  return lines
    .slice(at, at + 4)
    .filter((l) => !l.startsWith('at ') && !l.startsWith('Node.js v'))
    .join(' ')
    .slice(0, 400);
}

export class PilotReleases {
  private readonly releasesDir: string;
  private readonly current: string;

  constructor(private readonly o: ReleaseOptions) {
    this.releasesDir = path.join(o.installDir, 'releases');
    this.current = path.join(o.installDir, 'current');
  }

  /** `releases/<version>` that `current` names, or null (no install yet: a pilot run from elsewhere). */
  private async currentTarget(): Promise<string | null> {
    return fs.readlink(this.current).catch(() => null);
  }

  async upgrade(action: { version: string; source: string; sha256: string }): Promise<ReleaseOutcome> {
    const { version } = action;
    if (version === PILOT_VERSION)
      return { outcome: { ok: true, message: `already running ${version}` }, restart: false };
    if (!this.o.configFile)
      return failed('this pilot runs without a config file: a new bundle cannot be checked');
    let tarball: Buffer;
    try {
      tarball = await fetchRelease(action.source, this.o.downloadTimeoutMs);
    } catch (error) {
      return failed(`cannot fetch ${action.source}: ${(error as Error).message}; nothing installed`);
    }
    const digest = sha256Hex(tarball);
    if (!sameDigest(digest, action.sha256)) {
      return failed(`${action.source} has sha256 ${digest}, not ${action.sha256}: nothing installed`);
    }
    const files = unpack(tarball, version);
    if (typeof files === 'string')
      return failed(`${action.source} is not a good release: ${files}; nothing installed`);
    const dir = path.join(this.releasesDir, version);
    await this.write(dir, files);
    const check = await this.check(dir, version);
    if (check) {
      await fs.rm(dir, { recursive: true, force: true });
      return failed(
        `${version} fails its check with this node's config (${check}): still running ${PILOT_VERSION}`,
      );
    }
    const previous = await this.currentTarget();
    await this.switchTo(version);
    await this.prune([version, ...(previous ? [path.basename(previous)] : [])]);
    return {
      outcome: {
        ok: true,
        message: `installed ${version} (sha256 verified) next to ${PILOT_VERSION}; restarting into it`,
      },
      restart: true,
    };
  }

  /** Switches back to an installed release, after checking its files against its own SHA256SUMS. */
  async rollback(version: string): Promise<ReleaseOutcome> {
    const dir = path.join(this.releasesDir, version);
    const names = await fs.readdir(dir).catch(() => null);
    if (!names) {
      return version === PILOT_VERSION
        ? { outcome: { ok: true, message: `running ${version}; no release was switched` }, restart: false }
        : failed(`no release ${version} in ${this.releasesDir}`);
    }
    const files = new Map<string, Buffer>();
    for (const name of names) files.set(name, await fs.readFile(path.join(dir, name)));
    const problem = releaseProblems(files, version);
    if (problem) return failed(`release ${version} in ${dir} is damaged: ${problem}`);
    if (version === PILOT_VERSION && (await this.currentTarget()) === path.join('releases', version)) {
      return { outcome: { ok: true, message: `running ${version} (SHA256SUMS verified)` }, restart: false };
    }
    const check = await this.check(dir, version);
    if (check) return failed(`release ${version} fails its check with this node's config (${check})`);
    await this.switchTo(version);
    const restart = version !== PILOT_VERSION;
    const then = restart ? '; restarting into it' : '';
    return {
      outcome: { ok: true, message: `switched back to ${version} (SHA256SUMS verified)${then}` },
      restart,
    };
  }

  /** Writes the release into a temporary folder first, so `releases/<version>` is whole or absent. */
  private async write(dir: string, files: ReadonlyMap<string, Buffer>): Promise<void> {
    await fs.mkdir(this.releasesDir, { recursive: true, mode: 0o755 });
    const tmp = path.join(this.releasesDir, `.${path.basename(dir)}.${randomBytes(4).toString('hex')}.tmp`);
    await fs.mkdir(tmp, { mode: 0o755 });
    for (const [name, data] of files) await fs.writeFile(path.join(tmp, name), data, { mode: 0o644 });
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rename(tmp, dir);
  }

  /** Why the bundle in `dir` cannot run this node (its `check` with our config), or null. */
  private async check(dir: string, version: string): Promise<string | null> {
    try {
      const { stdout } = await run(
        process.execPath,
        [path.join(dir, BUNDLE), 'check', '--config', this.o.configFile as string],
        { timeout: CHECK_TIMEOUT_MS },
      );
      const said = stdout.trim().split('\n').at(-1);
      return said === version ? null : `it says it is ${said}`;
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      return firstError(e.stderr?.trim() || e.message);
    }
  }

  /** Points `current` at `releases/<version>` in one rename: a restart finds the old or the new, never neither. */
  private async switchTo(version: string): Promise<void> {
    const tmp = `${this.current}.${randomBytes(4).toString('hex')}.tmp`;
    await fs.symlink(path.join('releases', version), tmp);
    await fs.rename(tmp, this.current);
    const handle = await fs.open(this.o.installDir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /** Keeps the releases named (the new one and the one it replaced): a rollback needs no more. */
  private async prune(keep: string[]): Promise<void> {
    for (const name of await fs.readdir(this.releasesDir)) {
      if (!keep.includes(name))
        await fs.rm(path.join(this.releasesDir, name), { recursive: true, force: true });
    }
  }
}
