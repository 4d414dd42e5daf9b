/**
 * config/app.toml, the Cosmos SDK's side of a node home: the keys that decide which blocks the node
 * keeps (`min-retain-blocks`) and which state snapshots it takes and serves (`[state-sync]`). A home
 * without app.toml runs with the SDK's defaults: every block kept, no snapshots.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import * as z from 'zod';

/** The SDK's default: the two most recent snapshots are kept. */
export const SNAPSHOT_KEEP_RECENT = 2;

export const AppConfig = z.object({
  'min-retain-blocks': z.number().int().nonnegative().default(0),
  'state-sync': z
    .object({
      'snapshot-interval': z.number().int().nonnegative().default(0),
      'snapshot-keep-recent': z.number().int().nonnegative().default(SNAPSHOT_KEEP_RECENT),
    })
    .prefault({}),
});
export type AppConfig = z.infer<typeof AppConfig>;

export interface AppTomlInput {
  minRetainBlocks: number;
  snapshotInterval: number;
}

/** The part of the SDK's app.toml template the devnet reads (the pruning keys are written as an operator would). */
export function renderAppToml(a: AppTomlInput): string {
  return `# This is a TOML config file.
# For more information, see https://github.com/toml-lang/toml

###############################################################################
###                           Base Configuration                            ###
###############################################################################

# The minimum gas prices a validator is willing to accept for processing a
# transaction. A transaction's fees must meet the minimum of any denomination
# specified in this config (e.g. 0.25token1,0.0001token2).
minimum-gas-prices = "0stake"

# default: the last 362880 states are kept, pruning at 10 block intervals
# nothing: all historic states will be saved, nothing will be deleted (i.e. archiving node)
# everything: 2 latest states will be kept; pruning at 10 block intervals.
# custom: allow pruning options to be manually specified through 'pruning-keep-recent', and 'pruning-interval'
# (devnet: the app's state history is not modelled; queries answer from the latest state)
pruning = "custom"

# These are applied if and only if the pruning strategy is custom.
pruning-keep-recent = "100"
pruning-interval = "10"

# MinRetainBlocks defines the minimum block height offset from the current
# block being committed, such that all blocks past this offset are pruned
# from CometBFT. It is used as part of the process of determining the
# ResponseCommit.RetainHeight value during ABCI Commit. A value of 0 indicates
# that no blocks should be pruned.
#
# This configuration value is only responsible for pruning CometBFT blocks.
# It has no bearing on application state pruning which is determined by the
# "pruning-*" configurations.
#
# Note: CometBFT block pruning is dependant on this parameter in conjunction
# with the unbonding (safety threshold) period, state pruning and state sync
# snapshot parameters to determine the correct minimum value of
# ResponseCommit.RetainHeight.
min-retain-blocks = ${a.minRetainBlocks}

###############################################################################
###                        State Sync Configuration                         ###
###############################################################################

# State sync snapshots allow other nodes to rapidly join the network without replaying historical
# blocks, instead downloading and applying a snapshot of the application state at a given height.
[state-sync]

# snapshot-interval specifies the block interval at which local state sync snapshots are
# taken (0 to disable).
snapshot-interval = ${a.snapshotInterval}

# snapshot-keep-recent specifies the number of recent snapshots to keep and serve (0 to keep all).
snapshot-keep-recent = ${SNAPSHOT_KEEP_RECENT}
`;
}

/** Reads `<home>/config/app.toml`; the SDK's defaults when there is none. */
export function readAppConfig(home: string): AppConfig {
  const path = join(home, 'config', 'app.toml');
  const parsed = AppConfig.safeParse(existsSync(path) ? parse(readFileSync(path, 'utf8')) : {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`${path}: ${issues}`);
  }
  return parsed.data;
}
