import * as z from 'zod';
import { PilotVersion, ReleaseSource, Sha256Hex } from '../../protocol/index.js';

/** One release pilots can be upgraded to: where its tarball is and its sha256 (`npm run release` prints both). */
export const PilotRelease = z.strictObject({
  /** https URL (http only on loopback) or absolute path on the nodes. */
  source: ReleaseSource,
  sha256: Sha256Hex,
});
export type PilotRelease = z.infer<typeof PilotRelease>;

/** `settings.pilot`: the version the fleet should run, the releases `upgrade pilots` may roll out, timings. */
export const PilotSettings = z.strictObject({
  /** Every pilot below it raises the `pilot-version` alert (as does a fleet running several versions). */
  targetVersion: PilotVersion.optional(),
  /** Releases by version: `upgrade pilots <version>` rolls out only a release listed here. */
  releases: z.record(PilotVersion, PilotRelease).default({}),
  /**
   * How long a node has to report the new version after its upgrade-pilot is queued (fetch, check,
   * restart, first report), and its previous version after a rollback.
   */
  upgradeTimeoutMs: z.number().int().min(10_000).max(3_600_000).default(180_000),
});
export type PilotSettings = z.infer<typeof PilotSettings>;
