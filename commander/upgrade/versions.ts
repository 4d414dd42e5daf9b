import type { Finding } from '../domain/health.js';
import type { NodeRecord } from '../domain/registry.js';

/** Semver precedence of `MAJOR.MINOR.PATCH[-pre]`; text that is not a version sorts below every version. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const m = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$/.exec(v);
    return m ? { core: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4]?.split('.') ?? null } : null;
  };
  const x = parse(a);
  const y = parse(b);
  if (!x || !y) return x ? 1 : y ? -1 : a < b ? -1 : a > b ? 1 : 0;
  for (let i = 0; i < 3; i++)
    if (x.core[i] !== y.core[i]) return (x.core[i] as number) - (y.core[i] as number);
  // A pre-release sorts below its release; pre-release identifiers compare numerically, else as text.
  if (!x.pre || !y.pre) return x.pre ? -1 : y.pre ? 1 : 0;
  for (let i = 0; i < Math.max(x.pre.length, y.pre.length); i++) {
    const p = x.pre[i];
    const q = y.pre[i];
    if (p === undefined || q === undefined) return p === undefined ? -1 : 1;
    if (p === q) continue;
    const numeric = /^\d+$/.test(p) && /^\d+$/.test(q);
    return numeric ? Number(p) - Number(q) : p < q ? -1 : 1;
  }
  return 0;
}

/**
 * Version drift: every approved pilot below the newest version in play (the fleet's newest, or
 * `pilot.targetVersion` when that is newer) gets a finding, so a fleet on mixed versions, or behind
 * its target, is one `upgrade pilots <version>` away from clean.
 */
export function versionDrift(nodes: readonly NodeRecord[], targetVersion: string | undefined): Finding[] {
  const approved = nodes.filter((n) => n.status === 'approved');
  const versions = [
    ...new Set([...approved.map((n) => n.pilotVersion), ...(targetVersion ? [targetVersion] : [])]),
  ];
  if (versions.length < 2) return [];
  const newest = versions.reduce((a, b) => (compareVersions(a, b) >= 0 ? a : b));
  const why =
    newest === targetVersion ? `pilot.targetVersion is ${newest}` : `the fleet's newest pilot runs ${newest}`;
  return approved
    .filter((n) => compareVersions(n.pilotVersion, newest) < 0)
    .map((n) => ({
      key: `node:${n.id}:pilot-version`,
      kind: 'pilot-version' as const,
      nodeId: n.id,
      chainId: n.chainId,
      severity: 'warning' as const,
      title: `${n.id}: pilot ${n.pilotVersion}, behind ${newest}`,
      detail: `${why}: run \`upgrade pilots ${newest}\` (admin) to bring every pilot to it`,
    }));
}
