/**
 * `npm run release`: the pilot as operators install it. Writes dist/release/beam-pilot-<version>/
 * (the bundle, its systemd unit, polkit rules in both formats, the daemon's stop-timeout drop-in,
 * install.sh, README.md, VERSION, SHA256SUMS), beam-pilot-<version>.tar.gz of that folder, and
 * beam-pilot-<version>.tar.gz.sha256: the digest the commander's `pilot.releases` names.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { PilotVersion, parseOrThrow } from '../protocol/index.js';
import { buildPilot } from './build.js';
import { formatSums, sha256Hex } from './checksums.js';
import { daemonDropIn, polkitPkla, polkitRules } from './systemd-files.js';
import { packTar } from './tar.js';
import { PILOT_VERSION } from './version.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface Release {
  version: string;
  /** The unpacked release folder. */
  dir: string;
  tarball: string;
  /** sha256 of the tarball, hex. */
  sha256: string;
}

/** `beam-pilot-<version>`: the tarball's folder, and the name both install.sh and the pilot expect. */
export const releaseName = (version: string) => `beam-pilot-${version}`;

/**
 * Writes a release of `files` (name → content; SHA256SUMS is added) into `outDir`: the folder, the
 * tarball and its .sha256. Any existing release of the same version there is replaced.
 */
export async function packRelease(
  outDir: string,
  version: string,
  files: ReadonlyMap<string, Buffer>,
): Promise<Release> {
  const name = releaseName(version);
  const dir = path.join(outDir, name);
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(dir, { recursive: true });
  const all = new Map(files);
  all.set('SHA256SUMS', Buffer.from(formatSums(files)));
  const entries = [...all]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([file, data]) => ({ name: file, data, mode: file.endsWith('.sh') ? 0o755 : 0o644 }));
  for (const e of entries) await fs.writeFile(path.join(dir, e.name), e.data, { mode: e.mode });
  const tarball = path.join(outDir, `${name}.tar.gz`);
  const gz = gzipSync(packTar(name, entries), { level: 9 });
  await fs.writeFile(tarball, gz);
  const sha256 = sha256Hex(gz);
  await fs.writeFile(`${tarball}.sha256`, `${sha256}  ${path.basename(tarball)}\n`);
  return { version, dir, tarball, sha256 };
}

/** Builds the bundle stamped with `version` and packs it with everything install.sh needs. */
export async function buildRelease(options: { outDir?: string; version?: string } = {}): Promise<Release> {
  const version = parseOrThrow(PilotVersion, options.version ?? PILOT_VERSION, 'release version');
  const outDir = path.resolve(options.outDir ?? path.join(root, 'dist', 'release'));
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'beam-release-'));
  try {
    const bundle = await buildPilot(path.join(scratch, 'beam-pilot.mjs'), version);
    const packaging = path.join(root, 'pilot', 'packaging');
    const text = (s: string) => Buffer.from(s);
    return await packRelease(
      outDir,
      version,
      new Map([
        ['beam-pilot.mjs', await fs.readFile(bundle)],
        ['beam-pilot.service', await fs.readFile(path.join(packaging, 'beam-pilot.service'))],
        ['install.sh', await fs.readFile(path.join(packaging, 'install.sh'))],
        ['README.md', await fs.readFile(path.join(root, 'pilot', 'README.md'))],
        // install.sh fills in the placeholders.
        ['beam-pilot.rules', text(polkitRules('@USER@', '@UNIT@'))],
        ['beam-pilot.pkla', text(polkitPkla('@USER@'))],
        ['daemon-stop-timeout.conf', text(daemonDropIn('@STOP_TIMEOUT_MS@'))],
        ['VERSION', text(`${version}\n`)],
      ]),
    );
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  if (args.includes('--help')) {
    console.log(
      `npm run release [-- --version X.Y.Z] [--out DIR]\nBuilds the pilot release (default: version ${PILOT_VERSION} from pilot/version.ts, into dist/release).`,
    );
  } else {
    buildRelease({ version: option(args, 'version'), outDir: option(args, 'out') }).then(
      (r) => {
        console.log(`${r.dir}/\n${r.tarball}\nsha256 ${r.sha256}`);
        console.log(
          `commander settings: pilot.releases."${r.version}" = { source = "<URL or path>", sha256 = "${r.sha256}" }`,
        );
      },
      (error: Error) => {
        console.error(error.message);
        process.exit(1);
      },
    );
  }
}
