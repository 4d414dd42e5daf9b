/**
 * The peer lists of config.toml belong to Beam and to the operator at once: a sentry keeps its own
 * public peers next to the validators Beam gives it. The pilot remembers which entries Beam wrote
 * (PilotState.beamPeers); a config change replaces those and keeps every other entry. `p2p.seeds`
 * is never Beam's, so it is never touched.
 */

/** The comma-separated lists Beam writes (protocol/config.ts), as `section.key`. */
export const SHARED_LISTS = ['p2p.persistent_peers', 'p2p.unconditional_peer_ids', 'p2p.private_peer_ids'];

/** Entries of one list key that Beam wrote, by `section.key`. */
export type BeamEntries = Record<string, string[]>;

/** The node id an entry is about: `<id>@host:port` or a bare id. */
export const nodeIdOf = (entry: string) => (entry.split('@')[0] as string).toLowerCase();

/** CometBFT's comma-joined list as entries. */
export function splitList(value: unknown): string[] {
  return typeof value === 'string'
    ? value
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean)
    : [];
}

/**
 * A list after a config change: the operator's entries first, in their order, then Beam's. Entries
 * Beam wrote before go; an operator's entry for a node Beam now lists gives way to Beam's (one
 * entry per node id: CometBFT dials each listed address).
 */
export function mergeList(
  current: readonly string[],
  beamBefore: readonly string[],
  beamNow: readonly string[],
): string[] {
  const before = new Set(beamBefore);
  const ids = new Set(beamNow.map(nodeIdOf));
  const operator = current.filter((e) => !before.has(e) && !ids.has(nodeIdOf(e)));
  return [...new Set([...operator, ...beamNow])];
}

/** A parsed TOML document's value at `section.key`. */
function valueAt(doc: Record<string, unknown>, key: string): unknown {
  const [section, name] = key.split('.') as [string, string];
  const table = doc[section];
  return table && typeof table === 'object' ? (table as Record<string, unknown>)[name] : undefined;
}

/**
 * Rewrites the shared lists among `edits` (as patchEdits made them: Beam's entries comma-joined) to
 * their merged value against the file's current lists, and returns what Beam owns afterwards.
 */
export function mergeShared(
  edits: Map<string, string | number | boolean>,
  readDoc: () => Record<string, unknown>,
  beamBefore: Readonly<BeamEntries>,
): { edits: Map<string, string | number | boolean>; owned: BeamEntries } {
  const merged = new Map(edits);
  const owned: BeamEntries = {};
  // Parsed only when a list is to merge: other edits work on any text, valid TOML or not.
  let doc: Record<string, unknown> | null = null;
  for (const key of SHARED_LISTS) {
    const value = edits.get(key);
    if (value === undefined) continue;
    doc ??= readDoc();
    const beamNow = splitList(value);
    merged.set(key, mergeList(splitList(valueAt(doc, key)), beamBefore[key] ?? [], beamNow).join(','));
    owned[key] = beamNow;
  }
  return { edits: merged, owned };
}
