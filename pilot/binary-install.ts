/**
 * The chain binary a node starts with (`[daemon.binary]`): a new machine has none, so before the
 * supervisor starts the daemon the pilot makes sure the file at `path` is the one named by its
 * sha256, downloading it from `url` (a chain-registry `codebase.binaries` value) when it is missing or
 * differs. The download goes to a temporary file beside it and takes its place in one rename only
 * once its sha256 matches: the path holds the old file or the right one, never a part.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { registryBinary } from '../protocol/chain-registry.js';
import { isLoopbackHost } from '../protocol/release.js';
import { sameDigest, sha256OfFile } from './checksums.js';
import type { PilotConfig } from './config.js';
import { cosmovisorSettings } from './cosmovisor.js';
import { download } from './download.js';
import { syncDir } from './fsx.js';
import { monoNow } from './lease.js';
import { backoffDelay } from './reporter.js';

/** Chain binaries are 50–300 MB; a body past this is not one. */
const MAX_BINARY_BYTES = 1024 * 1024 * 1024;

export interface BinarySpec {
  /** What to download: the configured URL without the registry's `checksum` parameter. */
  url: string;
  /** Lowercase hex. */
  sha256: string;
  /** Where the daemon's binary goes (absolute). */
  path: string;
  timeoutMs: number;
}

type BinaryConfig = NonNullable<PilotConfig['daemon']['binary']>;

/** Why the pilot will not download a binary from `url`, or null: https, or plain http on this machine. */
function urlProblem(url: URL): string | null {
  if (url.protocol === 'https:') return null;
  return url.protocol === 'http:' && isLoopbackHost(url.hostname)
    ? null
    : `use https:// (plain http only on loopback), not ${url.protocol}//${url.host}`;
}

/**
 * `[daemon.binary]` resolved against the rest of the daemon section: the sha256 from `sha256` or the
 * URL's `?checksum=sha256:` (both: they must agree), the path from `path` or cosmovisor's genesis bin.
 * Problems are `key: fix` lines, as the config's own.
 */
export function resolveBinary(
  binary: BinaryConfig,
  cosmovisor: { name: string; home: string } | null,
): BinarySpec | { problems: string[] } {
  const problems: string[] = [];
  const key = (name: string) => `daemon.binary.${name}`;
  const registry = registryBinary(binary.url);
  let url = binary.url;
  let sha256 = binary.sha256?.toLowerCase() ?? null;
  if ('problem' in registry) problems.push(`${key('url')}: ${registry.problem}`);
  else {
    url = registry.url;
    const scheme = urlProblem(new URL(url));
    if (scheme) problems.push(`${key('url')}: ${scheme}`);
    if (registry.sha256 && sha256 && registry.sha256 !== sha256) {
      problems.push(
        `${key('sha256')}: ${sha256} differs from the url's ?checksum=sha256:${registry.sha256}: keep one of them`,
      );
    }
    sha256 ??= registry.sha256;
  }
  if (!sha256 && !('problem' in registry)) {
    problems.push(
      `${key('sha256')}: missing: add sha256 = "<64 hex>" (sha256sum of the binary), or a url ending in ?checksum=sha256:<64 hex> as the chain registry writes it`,
    );
  }
  const file =
    binary.path ??
    (cosmovisor ? path.join(cosmovisor.home, 'cosmovisor', 'genesis', 'bin', cosmovisor.name) : null);
  if (!file) {
    problems.push(
      `${key('path')}: missing: set where the binary goes, the executable the daemon's command (or unit) runs (with [daemon.cosmovisor] the default is <home>/cosmovisor/genesis/bin/<name>)`,
    );
  }
  if (problems.length > 0 || !sha256 || !file) return { problems };
  return { url, sha256, path: file, timeoutMs: binary.download_timeout_ms };
}

/** The config's binary, or null when `[daemon.binary]` is not set (the config is parsed: it resolves). */
export function binarySpec(cfg: PilotConfig): BinarySpec | null {
  const binary = cfg.daemon.binary;
  if (!binary) return null;
  const spec = resolveBinary(binary, cosmovisorSettings(cfg));
  if ('problems' in spec) throw new Error(spec.problems.join('; '));
  return spec;
}

/** What is wrong with the file at the spec's path, or null when it is the configured binary. */
export async function binaryProblem(spec: BinarySpec): Promise<string | null> {
  const actual = await sha256OfFile(spec.path);
  if (actual === null) return `${spec.path} does not exist: the pilot installs it from ${spec.url} at start`;
  if (!sameDigest(actual, spec.sha256)) {
    return `${spec.path} has sha256 ${actual}, not ${spec.sha256} ([daemon.binary] sha256): the pilot replaces it from ${spec.url} at its next start`;
  }
  const mode = (await fs.stat(spec.path)).mode;
  return mode & 0o100 ? null : `${spec.path} is not executable: run chmod 755 ${spec.path}`;
}

/** gzip, zip and xz archives by their first bytes: a chain registry may list an archive. */
function archiveKind(head: Uint8Array): string | null {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x50 && head[1] === 0x4b) return 'zip';
  if (head[0] === 0xfd && head[1] === 0x37 && head[2] === 0x7a) return 'xz';
  return null;
}

/**
 * Makes `spec.path` the configured binary: nothing when it already is; otherwise downloads it beside
 * the path, checks its sha256 (a mismatch names both and installs nothing), makes it executable
 * (0755) and renames it into place. Returns what it did, for the log.
 */
export async function installBinary(spec: BinarySpec): Promise<string> {
  const current = await sha256OfFile(spec.path);
  if (current !== null && sameDigest(current, spec.sha256)) {
    await fs.chmod(spec.path, 0o755);
    return `${spec.path} is the configured binary (sha256 ${spec.sha256})`;
  }
  const dir = path.dirname(spec.path);
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  // A download cut short by a pilot exit leaves its temporary file: gone before the next one.
  const partial = `.${path.basename(spec.path)}.`;
  for (const name of await fs.readdir(dir)) {
    if (name.startsWith(partial) && name.endsWith('.download'))
      await fs.rm(path.join(dir, name), { force: true });
  }
  const tmp = path.join(dir, `${partial}${randomBytes(4).toString('hex')}.download`);
  const hash = createHash('sha256');
  let head: Uint8Array | null = null;
  const handle = await fs.open(tmp, 'wx', 0o600);
  try {
    try {
      await download(
        spec.url,
        { timeoutMs: spec.timeoutMs, maxBytes: MAX_BINARY_BYTES, what: 'a chain binary' },
        async (chunk) => {
          head ??= chunk.slice(0, 4);
          hash.update(chunk);
          await handle.write(chunk);
        },
      );
      await handle.sync();
    } finally {
      await handle.close();
    }
    const actual = hash.digest('hex');
    if (!sameDigest(actual, spec.sha256)) {
      throw new Error(
        `${spec.url} has sha256 ${actual}, not the configured ${spec.sha256} ([daemon.binary] sha256): nothing installed at ${spec.path}`,
      );
    }
    const archive = head ? archiveKind(head) : null;
    if (archive) {
      throw new Error(
        `${spec.url} is a ${archive} archive: Beam installs the executable itself, so point daemon.binary.url at the binary (and its sha256): nothing installed at ${spec.path}`,
      );
    }
    await fs.chmod(tmp, 0o755);
    await fs.rename(tmp, spec.path);
  } catch (error) {
    await fs.rm(tmp, { force: true });
    throw error;
  }
  await syncDir(dir);
  const was = current === null ? 'was missing' : `had sha256 ${current}`;
  return `installed ${spec.path} from ${spec.url} (sha256 ${spec.sha256} verified; it ${was})`;
}

/** Retries of a failed install: from 30 s, doubling, up to 10 min (a download is big; the cause is rarely brief). */
const RETRY_BASE_MS = 30_000;
const RETRY_MAX_MS = 600_000;

/**
 * Keeps the configured binary in place for the supervisor. The install runs in the background (a
 * download may take minutes, and the pilot's reports, and a validator's signer, must not wait for
 * it); meanwhile, and while it fails, the daemon is held down. A failed install is tried again later.
 */
export class BinaryKeeper {
  private failure: { reason: string; failures: number; retryAt: number } | null = null;
  private running: Promise<void> | null = null;
  private installed = false;

  constructor(
    private readonly spec: BinarySpec,
    private readonly log: { info: (msg: string) => void; error: (msg: string) => void },
    private readonly now: () => number = monoNow,
  ) {}

  /** Why the daemon cannot be started from its binary now, or null. */
  get problem(): string | null {
    if (this.failure) return `the chain binary is not installed: ${this.failure.reason}`;
    return this.installed ? null : `the chain binary is being installed from ${this.spec.url}`;
  }

  /** Why the binary is not to be expected soon (its install failed), or null. */
  get failed(): string | null {
    return this.failure ? this.problem : null;
  }

  /** Starts an install unless one runs; `settled` resolves when it ends. */
  begin(): void {
    this.running ??= this.install().finally(() => {
      this.running = null;
    });
  }

  /** After a failure, installs again once its backoff has passed. */
  retryIfDue(): void {
    if (this.failure && this.now() >= this.failure.retryAt) this.begin();
  }

  /** The install running now, if any. */
  settled(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private async install(): Promise<void> {
    try {
      this.log.info(await installBinary(this.spec));
      this.failure = null;
      this.installed = true;
    } catch (error) {
      const failures = (this.failure?.failures ?? 0) + 1;
      const delay = backoffDelay(failures, RETRY_BASE_MS, RETRY_MAX_MS);
      const reason = (error as Error).message;
      this.failure = { reason, failures, retryAt: this.now() + delay };
      this.log.error(`chain binary: ${reason}; trying again in ${Math.round(delay / 1000)} s`);
    }
  }
}
