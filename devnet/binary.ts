/**
 * A node home's daemon binaries in cosmovisor's layout, and the upgrade-info.json the SDK writes:
 *
 *   <home>/cosmovisor/genesis/bin/devnetd           the binary the chain started with
 *   <home>/cosmovisor/upgrades/<name>/bin/devnetd   a binary staged for upgrade <name>
 *   <home>/cosmovisor/current -> genesis | upgrades/<name>
 *   <home>/data/upgrade-info.json                   {"name","time","height","info"} at an upgrade halt
 *
 * A "binary" is a small executable shell script that runs the devnet node as a version: its marker
 * line `# devnet-binary: {"version":"v2","upgrade":"v2"}` names the version and the upgrade handler
 * it registers. Nothing is compiled; a devnet node reads the marker of the binary it runs as.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as z from 'zod';
import type { UpgradePlan } from './chain/types.js';
import type { Binary } from './upgradecheck.js';

export const DAEMON_NAME = 'devnetd';
export const GENESIS_BINARY: Binary = { version: 'v1.0.0', upgrade: null };

const MARKER = '# devnet-binary: ';
const CLI_PATH = join(dirname(fileURLToPath(import.meta.url)), 'cli.ts');
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

const BinaryMarker = z.object({ version: z.string().min(1), upgrade: z.string().min(1).nullable() });

export function cosmovisorPaths(home: string, daemon = DAEMON_NAME) {
  const root = join(home, 'cosmovisor');
  return {
    root,
    current: join(root, 'current'),
    currentBin: join(root, 'current', 'bin', daemon),
    genesisBin: join(root, 'genesis', 'bin', daemon),
    upgradeDir: (name: string) => join(root, 'upgrades', name),
    upgradeBin: (name: string) => join(root, 'upgrades', name, 'bin', daemon),
    upgradeInfo: join(home, 'data', 'upgrade-info.json'),
  };
}

const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** Writes an executable binary script: `<path> start --home DIR` runs a devnet node as `binary`. */
export function writeBinary(path: string, binary: Binary): void {
  mkdirSync(dirname(path), { recursive: true });
  const script = `#!/bin/sh
# The devnet daemon ${binary.version}: a devnet node that registers the upgrade handler ${binary.upgrade ? `"${binary.upgrade}"` : 'of no upgrade (genesis binary)'}.
# To stage a binary for upgrade <name>, write this file as cosmovisor/upgrades/<name>/bin/${DAEMON_NAME} with
# the marker below naming the new version and "upgrade": "<name>" (or run devnet stage-upgrade).
${MARKER}${JSON.stringify(binary)}
exec ${[process.execPath, '--import', TSX_LOADER, CLI_PATH, 'node', '--binary'].map(shellQuote).join(' ')} "$0" "$@"
`;
  writeFileSync(path, script);
  chmodSync(path, 0o755);
}

export function readBinary(path: string): Binary {
  const line = readFileSync(path, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(MARKER));
  if (!line) throw new Error(`${path}: not a devnet binary (no "${MARKER.trim()}" line)`);
  const parsed = BinaryMarker.safeParse(JSON.parse(line.slice(MARKER.length)));
  if (!parsed.success)
    throw new Error(`${path}: bad devnet-binary marker: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** The binary a plain `devnet node --home DIR` runs as: the home's current one, else the genesis binary. */
export function currentBinary(home: string): Binary {
  const path = cosmovisorPaths(home).currentBin;
  return existsSync(path) ? readBinary(path) : GENESIS_BINARY;
}

/** Points `current` at `target` (absolute), replacing the link atomically. */
export function linkCurrent(home: string, target: string): void {
  const { current } = cosmovisorPaths(home);
  const next = `${current}.next`;
  rmSync(next, { force: true });
  symlinkSync(target, next);
  renameSync(next, current);
}

/** The genesis binary and `current -> genesis`, as `cosmovisor init` leaves a home. */
export function layoutCosmovisor(home: string): void {
  const paths = cosmovisorPaths(home);
  writeBinary(paths.genesisBin, GENESIS_BINARY);
  linkCurrent(home, dirname(dirname(paths.genesisBin)));
}

/** Stages the binary for upgrade `name` (version defaults to the name); returns its path. */
export function stageUpgrade(home: string, name: string, version = name): string {
  if (!/^[A-Za-z0-9._-]+$/.test(name))
    throw new Error(`upgrade name "${name}": letters, digits, ".", "_" and "-" only`);
  const path = cosmovisorPaths(home).upgradeBin(name);
  writeBinary(path, { version, upgrade: name });
  return path;
}

export const UpgradeInfo = z.object({
  name: z.string().min(1),
  height: z.number().int().positive(),
  info: z.string().default(''),
});
export type UpgradeInfo = z.infer<typeof UpgradeInfo>;

/** DumpUpgradeInfoToDisk: the plan's name, height and info (and Go's zero time), as JSON. */
export function writeUpgradeInfo(path: string, plan: UpgradePlan): void {
  mkdirSync(dirname(path), { recursive: true });
  const doc = { name: plan.name, time: '0001-01-01T00:00:00Z', height: plan.height, info: plan.info };
  writeFileSync(path, JSON.stringify(doc));
}

/** The upgrade-info.json at `path`, or null when there is none (or it is unreadable). */
export function readUpgradeInfo(path: string): UpgradeInfo | null {
  try {
    const parsed = UpgradeInfo.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
