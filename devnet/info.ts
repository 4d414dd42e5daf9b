/** DIR/devnet.json: the machine-readable description of a running devnet (others code against these names). */
import { join } from 'node:path';
import * as z from 'zod';
import { readJsonFile } from './jsonfile.js';

export const DevnetValidator = z.object({
  name: z.string(),
  moniker: z.string(),
  operatorAddress: z.string(),
  accountAddress: z.string(),
  accountMnemonic: z.string(),
  consensusAddress: z.string(),
  keyFile: z.string(),
});

export const DevnetNode = z.object({
  name: z.string(),
  role: z.enum(['validator', 'sentry']),
  validator: z.string().nullable(),
  signing: z.boolean(),
  home: z.string(),
  rpcUrl: z.string(),
  p2pAddress: z.string(),
  cometNodeId: z.string(),
  /** Runs the node as its home's current binary (cosmovisor/current/bin/devnetd's version). */
  command: z.array(z.string()),
  /** Runs the node under cosmovisor (`devnet cosmovisor run start --home <home>`). */
  cosmovisorCommand: z.array(z.string()).default([]),
  /** The node's priv_validator_laddr (unix://…/priv_validator.sock) when a remote signer signs for it. */
  signerLaddr: z.string().nullable().default(null),
});

/** A validator of the rest of the network, run inside the hub. */
export const DevnetBackgroundValidator = z.object({
  name: z.string(),
  moniker: z.string(),
  operatorAddress: z.string(),
  accountAddress: z.string(),
  consensusAddress: z.string(),
  votingPower: z.number(),
});

export const DevnetAccount = z.object({ name: z.string(), address: z.string(), mnemonic: z.string() });

export const DevnetInfo = z.object({
  chainId: z.string(),
  denom: z.string(),
  bech32Prefix: z.string(),
  blockTimeMs: z.number(),
  dir: z.string(),
  hub: z.object({ controlUrl: z.string() }),
  validators: z.array(DevnetValidator),
  background: z.array(DevnetBackgroundValidator).default([]),
  nodes: z.array(DevnetNode),
  accounts: z.array(DevnetAccount),
});
export type DevnetInfo = z.infer<typeof DevnetInfo>;
export type DevnetNode = z.infer<typeof DevnetNode>;

export function readDevnetInfo(dir: string): DevnetInfo {
  return readJsonFile(join(dir, 'devnet.json'), DevnetInfo);
}
