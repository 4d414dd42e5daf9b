import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as z from 'zod';
import { ActionResult, BootstrapState } from '../protocol/index.js';
import { readJsonFile, writeFileAtomic } from './fsx.js';

/** Executed action ids (see ActionLedger): the recent ones by name, the older ones as a watermark. */
const ExecutedIds = z.object({
  /** Commander time: every id issued at or before it that is not in `recent` counts as run (null: none yet). */
  watermark: z.number().int().nonnegative().nullable().default(null),
  /** `[id, issuedAt]` of the latest executed (or refused) ids, written before execution. */
  recent: z.array(z.tuple([z.string(), z.number().int().nonnegative()])).default([]),
});
export type ExecutedIds = z.infer<typeof ExecutedIds>;

/**
 * State written before ids were ordered held a bare list of ids. Their issue times are unknown but
 * not later than now, so they count as issued now: once they leave the recent ids, the watermark
 * covers them.
 */
function migrateExecuted(raw: unknown, now: number): unknown {
  const legacy = (raw as { executed?: unknown } | null)?.executed;
  if (!Array.isArray(legacy)) return raw;
  const recent = legacy.filter((id): id is string => typeof id === 'string').map((id) => [id, now]);
  return { ...(raw as object), executed: { watermark: null, recent } };
}

export const PilotState = z.object({
  /** Last report seq used; the next report uses seq + 1 (persisted before sending). */
  seq: z.number().int().nonnegative().default(0),
  /** Highest lease epoch ever seen: key actions below it are refused. */
  highestEpoch: z.number().int().nonnegative().default(0),
  /** The lease as last granted, in wall-clock time, for safe boot across restarts. */
  lease: z
    .object({ epoch: z.number().int(), holder: z.boolean(), expiresAtWall: z.number() })
    .nullable()
    .default(null),
  /**
   * Signer mode: promoted and not demoted since. Only a promote sets it (after raising the sign
   * state above its floor); a demote, or a grant that names another holder, clears it.
   */
  signing: z.boolean().default(false),
  /** Action ids whose execution has started (written before execution). */
  executed: ExecutedIds.default({ watermark: null, recent: [] }),
  /** Results not yet acknowledged by the commander. */
  results: z.array(ActionResult).default([]),
  desiredDaemon: z.enum(['running', 'stopped']).default('running'),
  configVersion: z.string().nullable().default(null),
  /**
   * Entries of config.toml's peer lists that Beam wrote, by `section.key` (pilot/peer-lists.ts): the
   * next config change replaces them; every other entry is the operator's and stays.
   */
  beamPeers: z.record(z.string(), z.array(z.string())).default({}),
  /** Delegated amount per UTC day, for the daily cap. */
  delegated: z.object({ day: z.string(), amount: z.string() }).nullable().default(null),
  /** Hot-key fees per UTC day (base units of the gas price's denom), for `limits.max_fee_per_day`. */
  feesSpent: z.object({ day: z.string(), amount: z.string() }).nullable().default(null),
  /** Enrollment claim (random, kept until approved). */
  claim: z.string().nullable().default(null),
  /** Proposal ids already announced by the standalone alerting. */
  announcedProposals: z.array(z.string()).default([]),
  /**
   * The daemon exited halted for this upgrade, run from this executable: it is not started again
   * from the same one (pilot/upgrade-halt.ts). Forgotten once the node is past the height.
   */
  upgradeHalt: z
    .object({
      name: z.string(),
      height: z.number().int().positive(),
      executable: z.object({
        path: z.string(),
        ino: z.number(),
        size: z.number(),
        mtimeMs: z.number(),
      }),
    })
    .nullable()
    .default(null),
  /**
   * config.toml's `consensus.double_sign_check_height` the pilot set to 0 for an upgrade at
   * `upgradeHeight`, and the value it restores past it (pilot/double-sign-check.ts).
   */
  doubleSignCheck: z
    .object({ replaced: z.number().int().positive(), upgradeHeight: z.number().int().positive() })
    .nullable()
    .default(null),
  /**
   * State sync of a node that started with an empty block store (pilot/state-sync.ts); `addedPeers`:
   * the snapshot peers it put into p2p.persistent_peers, taken out again once synced.
   */
  bootstrap: z
    .object({
      state: BootstrapState,
      since: z.number().int().nonnegative(),
      trustHeight: z.number().int().positive().nullable(),
      syncedAt: z.number().int().nonnegative().nullable(),
      addedPeers: z.array(z.string()),
    })
    .nullable()
    .default(null),
});
export type PilotState = z.infer<typeof PilotState>;

/** The pilot's durable state: one JSON file, rewritten atomically, updates serialized. */
export class StateStore {
  private chain: Promise<unknown> = Promise.resolve();
  private constructor(
    readonly file: string,
    private state: PilotState,
  ) {}

  static async open(dir: string): Promise<StateStore> {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, 'state.json');
    const raw = await readJsonFile(file);
    const parsed = PilotState.safeParse(migrateExecuted(raw ?? {}, Date.now()));
    if (!parsed.success) throw new Error(`state file ${file} is corrupt: move it aside and restart`);
    return new StateStore(file, parsed.data);
  }

  get(): Readonly<PilotState> {
    return this.state;
  }

  /** Applies `mutate` to a copy and persists it before resolving. */
  update<T>(mutate: (s: PilotState) => T): Promise<T> {
    const run = this.chain.then(async () => {
      const next = structuredClone(this.state);
      const out = mutate(next);
      await writeFileAtomic(this.file, JSON.stringify(next, null, 1));
      this.state = next;
      return out;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}

/** The node secret, in its own 0600 file. */
export async function readSecret(dir: string): Promise<{ nodeId: string; secret: string } | null> {
  const raw = await readJsonFile(path.join(dir, 'node-secret.json'));
  const parsed = z.object({ nodeId: z.string(), secret: z.string().regex(/^[0-9a-f]{64}$/) }).safeParse(raw);
  return parsed.success ? parsed.data : null;
}

export async function writeSecret(dir: string, nodeId: string, secret: string): Promise<void> {
  await writeFileAtomic(path.join(dir, 'node-secret.json'), JSON.stringify({ nodeId, secret }), 0o600);
}
