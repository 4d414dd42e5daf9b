/** Programmatic devnet: hub and control API in-process, nodes as real child processes. */
import { BackgroundValidators } from './background.js';
import { GENESIS_BINARY, stageUpgrade } from './binary.js';
import { createChain, defaultParams } from './chain/index.js';
import { ControlApi } from './control.js';
import { submitGrants } from './grants.js';
import { Hub } from './hub.js';
import type { DevnetInfo, DevnetNode } from './info.js';
import { type LayoutOptions, addSentryHome, layoutDevnet, storePolicy, writeDevnetInfo } from './launcher.js';
import { parseHostPort } from './wire.js';
import { NodeProcess } from './processes.js';

export type { BackgroundState, BackgroundSummary, VotePolicy } from './background.js';
export { readUpgradeInfo, stageUpgrade } from './binary.js';
export type { DevnetInfo, DevnetNode } from './info.js';
export { readDevnetInfo } from './info.js';
export type { KeyMode, LayoutOptions } from './launcher.js';

export interface DevnetOptions extends LayoutOptions {
  /** Start the node processes (default true). */
  startNodes?: boolean;
  /**
   * Start producing blocks at once (default true). A launcher whose nodes are started by others (pilots)
   * passes false and calls `hub.startProducing()` once they are up, so validators miss no block at boot.
   */
  startBlocks?: boolean;
  /** Authz grants from each validator's account to `hot` in the first block (default true). */
  grants?: boolean;
  /** Control API port on 127.0.0.1 (default: any free port). */
  controlPort?: number;
  /** Overrides of the chain's default parameters (slashing window, voting period...). */
  params?: Parameters<typeof defaultParams>[0];
  /** Blocks a second a node catching up fetches from its peers (default 300). */
  blocksyncRate?: number;
}

export interface Devnet {
  info: DevnetInfo;
  hub: Hub;
  /**
   * Starts (or restarts) a node process by name: its `command` (the home's current binary), or with
   * `cosmovisor: true` its `cosmovisorCommand` (cosmovisor switches binaries at upgrades).
   */
  startNode(name: string, options?: { cosmovisor?: boolean }): void;
  /** Sends a signal to a node process (SIGKILL for a crash). */
  killNode(name: string, signal?: NodeJS.Signals): void;
  /** SIGTERM then SIGKILL after a grace period; resolves once it exited. */
  stopNode(name: string): Promise<void>;
  node(name: string): NodeProcess;
  /**
   * Creates a new sentry home (next free 127.0.0.x, private/unconditional validator ids, no chain
   * data), records it in devnet.json and starts it (unless `start: false`: a supervisor such as a
   * pilot starts it then, after writing [statesync] when the chain is past the retained blocks).
   * Validators reach it through `dial_peers` or their config.
   */
  addSentry(name?: string, options?: { start?: boolean }): DevnetNode;
  /**
   * Stages the binary for upgrade `upgrade` in a node's home (cosmovisor/upgrades/<upgrade>/bin),
   * as version `version` (default: the upgrade's name); returns its path.
   */
  stageUpgrade(node: string, upgrade: string, version?: string): string;
  stop(): Promise<void>;
}

const NODE_BOOT_TIMEOUT_MS = 30_000;

async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(`devnet: ${what} within ${timeoutMs} ms (see <home>/node.log)`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function startDevnet(options: DevnetOptions): Promise<Devnet> {
  const params = defaultParams({
    ...options.params,
    chainId: options.chainId ?? 'beam-devnet-1',
    denom: 'stake',
    bech32Prefix: 'cosmos',
  });
  const { info, genesis, hubAddress, background } = await layoutDevnet(options, params);
  const chain = createChain(genesis);
  const store = storePolicy(options);
  const hub = new Hub({
    chain,
    blockTimeMs: info.blockTimeMs,
    background: new BackgroundValidators(background, params.chainId, GENESIS_BINARY),
    ...parseHostPort(hubAddress),
    retainBlocks: store.retainBlocks,
    blocksyncRate: options.blocksyncRate,
  });
  const faucet = info.accounts.find((a) => a.name === 'faucet');
  const processes = new Map(
    info.nodes.map((n) => [n.name, new NodeProcess(n.name, n.home, n.command, n.cosmovisorCommand)]),
  );
  const node = (name: string) => {
    const p = processes.get(name);
    if (!p) throw new Error(`no node named "${name}"; nodes: ${[...processes.keys()].join(', ')}`);
    return p;
  };
  const addSentry = (name?: string, opts: { start?: boolean } = {}) => {
    const added = addSentryHome(info, hubAddress, store, name);
    writeDevnetInfo(info);
    const proc = new NodeProcess(added.name, added.home, added.command, added.cosmovisorCommand);
    processes.set(added.name, proc);
    if (opts.start !== false) proc.start();
    return added;
  };
  const control = new ControlApi({
    addSentry,
    hub,
    defaultProposer: faucet?.address ?? '',
    knownNodes: () => info.nodes.map((n) => n.name),
    processes: {
      start: (name, opts) => node(name).start(opts),
      kill: (name, signal) => node(name).kill(signal),
    },
    p2pAddressOf: (name) => info.nodes.find((n) => n.name === name)?.p2pAddress,
    port: options.controlPort,
  });
  const stop = async () => {
    await Promise.all([...processes.values()].map((p) => p.stop()));
    await control.stop();
    await hub.stop();
  };
  try {
    await hub.listen();
    info.hub.controlUrl = await control.start();
    writeDevnetInfo(info);
    const hot = info.accounts.find((a) => a.name === 'hot');
    if (options.grants !== false && hot) {
      for (const v of info.validators)
        await submitGrants(chain, v.accountMnemonic, hot.address, v.operatorAddress);
    }
    if (options.startNodes !== false) {
      for (const p of processes.values()) p.start();
      // Blocks start once every node is up (RPC listening, hub linked): validators miss none at boot.
      const names = info.nodes.map((n) => n.name);
      await waitUntil(
        () => {
          // A node that exits at boot (e.g. no remote signer answered in signer mode) fails at once.
          const exited = info.nodes.find((n) => !node(n.name).running);
          if (exited)
            throw new Error(`devnet: node ${exited.name} exited at boot (see ${exited.home}/node.log)`);
          return names.every((name) => hub.nodes().some((n) => n.name === name && n.connected));
        },
        NODE_BOOT_TIMEOUT_MS,
        'nodes did not connect to the hub',
      );
    }
    if (options.startBlocks !== false) {
      hub.startProducing();
      // Clients read a first block (cosmjs cannot decode the status of an empty chain): wait for it
      // when it can commit, with the nodes started or the background validators' +2/3 alone.
      const set = chain.validatorSet(1);
      const total = set.reduce((sum, v) => sum + v.votingPower, 0);
      const background = set.reduce((sum, v) => sum + (hub.background.has(v.address) ? v.votingPower : 0), 0);
      if (options.startNodes !== false || 3 * background > 2 * total)
        await waitUntil(() => chain.height() >= 1, NODE_BOOT_TIMEOUT_MS, 'the first block did not commit');
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    info,
    hub,
    node,
    startNode: (name, opts) => node(name).start(opts),
    killNode: (name, signal = 'SIGKILL') => node(name).kill(signal),
    stopNode: (name) => node(name).stop(),
    addSentry,
    stageUpgrade: (name, upgrade, version) => stageUpgrade(node(name).home, upgrade, version),
    stop,
  };
}
