/**
 * Lays out a devnet directory: keys, node homes (CometBFT files, app.toml and cosmovisor's layout),
 * genesis with the layout's validators and the background validators (the rest of the network's
 * voting power, run inside the hub), and devnet.json. Homes start with an empty block store, as
 * after `init`: a node started on a chain past it catches up (devnet/sync.ts).
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromBech32, toBech32 } from '@cosmjs/encoding';
import { DirectSecp256k1HdWallet } from '@cosmjs/proto-signing';
import type { BackgroundValidator } from './background.js';
import { renderAppToml } from './apptoml.js';
import { layoutCosmovisor } from './binary.js';
import { DEFAULT_RETAIN_BLOCKS } from './blockstore.js';
import { powerReduction } from './chain/codec.js';
import type { ChainParams, Genesis } from './chain/types.js';
import { renderConfigToml, renderGenesisJson } from './config.js';
import type { DevnetInfo, DevnetNode } from './info.js';
import { parseHostPort } from './wire.js';
import { addressOf, generateEd25519, nodeIdOf, nodeKeyJson, privValidatorKeyJson } from './keys.js';
import { INITIAL_STATE, writePrivState } from './privstate.js';

export interface LayoutOptions {
  dir: string;
  validators?: number;
  standby?: number;
  sentries?: number;
  blockTimeMs?: number;
  /** p2p port of every node; rpc is portBase+1, the hub's node link 127.0.0.1:portBase+2. */
  portBase?: number;
  chainId?: string;
  reset?: boolean;
  /**
   * Who signs for the validator nodes. 'file' (default): the primary's home holds the validator key
   * (priv_validator_key.json), the standby's its own key. 'signer': both validator homes listen on
   * priv_validator_laddr = unix://<home>/data/priv_validator.sock for a remote signer and hold no
   * validator key; the key stays in DIR/keys.
   */
  keyMode?: KeyMode;
  /**
   * Validators of the rest of the network, signing inside the hub (default 20). 0 is the
   * single-validator layout: the layout's validators hold all the voting power.
   */
  backgroundValidators?: number;
  /** Share of the voting power each of the layout's validators holds beside background validators (default 0.05). */
  powerShare?: number;
  /** app.toml min-retain-blocks of every node, and of the network's nodes in the hub (default 1000). */
  retainBlocks?: number;
  /** app.toml snapshot-interval of the sentries (default 100; validators take none). */
  snapshotInterval?: number;
}

/** What every home's app.toml says about blocks and snapshots. */
export interface StorePolicy {
  retainBlocks: number;
  snapshotInterval: number;
}

export const DEFAULT_SNAPSHOT_INTERVAL = 100;

export function storePolicy(options: LayoutOptions): StorePolicy {
  return {
    retainBlocks: options.retainBlocks ?? DEFAULT_RETAIN_BLOCKS,
    snapshotInterval: options.snapshotInterval ?? DEFAULT_SNAPSHOT_INTERVAL,
  };
}

export type KeyMode = 'file' | 'signer';

export const DEFAULT_BACKGROUND_VALIDATORS = 20;
export const DEFAULT_POWER_SHARE = 0.05;
export const CLI_PATH = join(dirname(fileURLToPath(import.meta.url)), 'cli.ts');
const SELF_DELEGATION = '100000000';
const TEST_ACCOUNTS: [string, string][] = [
  ['faucet', '10000000000000'],
  ['hot', '1000000000'],
  ['alice', '10000000000'],
  ['bob', '10000000000'],
];

export function nodeCommand(home: string): string[] {
  return [process.execPath, '--import', 'tsx', CLI_PATH, 'node', '--home', home];
}

export function cosmovisorCommand(home: string): string[] {
  return [process.execPath, '--import', 'tsx', CLI_PATH, 'cosmovisor', 'run', 'start', '--home', home];
}

/**
 * Voting power of each background validator: together they hold what the layout's validators (each
 * SELF_DELEGATION) leave to reach `share` each, split evenly.
 */
function backgroundPowers(count: number, validators: number, share: number): number[] {
  if (count === 0) return [];
  if (!(share > 0 && share * validators < 1))
    throw new Error(
      `powerShare ${share}: ${validators} validator(s) at that share leave no power to the rest`,
    );
  const own = Number(BigInt(SELF_DELEGATION) / powerReduction);
  const rest = Math.round(own / share) - own * validators;
  if (rest < count) throw new Error(`powerShare ${share} leaves less than 1 power per background validator`);
  return Array.from({ length: count }, (_, i) => Math.floor(rest / count) + (i < rest % count ? 1 : 0));
}

async function newAccount(prefix: string) {
  const wallet = await DirectSecp256k1HdWallet.generate(24, { prefix });
  const [account] = await wallet.getAccounts();
  if (!account) throw new Error('wallet has no account');
  return { address: account.address, mnemonic: wallet.mnemonic };
}

function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
}

interface PlannedNode {
  name: string;
  role: 'validator' | 'sentry';
  validator: string | null;
  signing: boolean;
  ip: string;
  nodeKey: ReturnType<typeof generateEd25519>;
  validatorKey: ReturnType<typeof generateEd25519>;
}

/** Creates DIR (refusing to overwrite an existing devnet unless `reset`) and returns its description and genesis. */
export async function layoutDevnet(
  options: LayoutOptions,
  params: ChainParams,
): Promise<{ info: DevnetInfo; genesis: Genesis; hubAddress: string; background: BackgroundValidator[] }> {
  const dir = resolve(options.dir);
  if (existsSync(join(dir, 'devnet.json'))) {
    if (!options.reset)
      throw new Error(`${dir} already holds a devnet (devnet.json); pass --reset to recreate it`);
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
  const portBase = options.portBase ?? 26656;
  const hubAddress = `127.0.0.1:${portBase + 2}`;
  const prefix = params.bech32Prefix;
  const denom = params.denom;
  const validators: DevnetInfo['validators'] = [];
  const genesis: Genesis = { params, genesisTimeMs: Date.now(), accounts: [], validators: [] };
  const planned: PlannedNode[] = [];
  const ip = () => `127.0.0.${planned.length + 2}`;
  // Every home gets a copy, as operators copy a chain's genesis.json.
  const genesisFile = join(dir, 'genesis.json');
  writeFileSync(
    genesisFile,
    renderGenesisJson({
      chainId: params.chainId,
      genesisTimeMs: genesis.genesisTimeMs,
      voteExtensionsEnableHeight: params.voteExtensionsEnableHeight ?? 0,
    }),
  );

  for (let i = 0; i < (options.validators ?? 1); i++) {
    const name = i === 0 ? 'val' : `val${i + 1}`;
    const key = generateEd25519();
    const operator = await newAccount(prefix);
    const keyFile = join(dir, 'keys', name, 'priv_validator_key.json');
    writeJson(keyFile, privValidatorKeyJson(key));
    validators.push({
      name,
      moniker: `${name}-moniker`,
      operatorAddress: toBech32(`${prefix}valoper`, fromBech32(operator.address, 90).data),
      accountAddress: operator.address,
      accountMnemonic: operator.mnemonic,
      consensusAddress: addressOf(key.publicKey),
      keyFile,
    });
    genesis.accounts.push({
      address: operator.address,
      coins: [{ denom, amount: String(BigInt(SELF_DELEGATION) + 1_000_000_000n) }],
    });
    genesis.validators.push({
      moniker: `${name}-moniker`,
      operatorAccount: operator.address,
      consensusPubkey: key.publicKey,
      selfDelegation: SELF_DELEGATION,
      commissionRate: '0.05',
    });
    for (let s = 0; s <= (options.standby ?? 1); s++) {
      const primary = s === 0;
      planned.push({
        name: `${name}-${String.fromCharCode(97 + s)}`,
        role: 'validator',
        validator: name,
        signing: primary,
        ip: ip(),
        nodeKey: generateEd25519(),
        validatorKey: primary ? key : generateEd25519(),
      });
    }
  }
  for (let i = 1; i <= (options.sentries ?? 3); i++) {
    planned.push({
      name: `sentry-${i}`,
      role: 'sentry',
      validator: null,
      signing: false,
      ip: ip(),
      nodeKey: generateEd25519(),
      validatorKey: generateEd25519(),
    });
  }

  const accounts: DevnetInfo['accounts'] = [];
  for (const [name, amount] of TEST_ACCOUNTS) {
    const account = await newAccount(prefix);
    accounts.push({ name, ...account });
    genesis.accounts.push({ address: account.address, coins: [{ denom, amount }] });
  }

  const background: BackgroundValidator[] = [];
  const powers = backgroundPowers(
    options.backgroundValidators ?? DEFAULT_BACKGROUND_VALIDATORS,
    options.validators ?? 1,
    options.powerShare ?? DEFAULT_POWER_SHARE,
  );
  for (const [i, power] of powers.entries()) {
    const name = `bg${String(i + 1).padStart(2, '0')}`;
    const key = generateEd25519();
    // No mnemonic: the hub acts for these operators through devnet controls, never through txs.
    const account = toBech32(prefix, randomBytes(20));
    const selfDelegation = String(BigInt(power) * powerReduction);
    genesis.accounts.push({ address: account, coins: [{ denom, amount: selfDelegation }] });
    genesis.validators.push({
      moniker: `${name}-moniker`,
      operatorAccount: account,
      consensusPubkey: key.publicKey,
      selfDelegation,
      commissionRate: '0.05',
    });
    const operator = toBech32(`${prefix}valoper`, fromBech32(account, 90).data);
    background.push({ name, seed: key.seed, publicKey: key.publicKey, account, operator });
  }

  const peerAddress = (n: PlannedNode) => `${nodeIdOf(n.nodeKey.publicKey)}@${n.ip}:${portBase}`;
  const sentryPeers = planned.filter((n) => n.role === 'sentry').map(peerAddress);
  const validatorIds = planned
    .filter((n) => n.role === 'validator')
    .map((n) => nodeIdOf(n.nodeKey.publicKey));
  const store = storePolicy(options);
  const nodes: DevnetNode[] = planned.map((n) =>
    writeNodeHome({
      ...n,
      dir,
      portBase,
      hubAddress,
      blockTimeMs: options.blockTimeMs ?? 1000,
      genesisFile,
      keyMode: options.keyMode ?? 'file',
      realKeyFile: n.signing ? validators.find((v) => v.name === n.validator)?.keyFile : undefined,
      sentryPeers,
      validatorIds,
      store,
    }),
  );

  const info: DevnetInfo = {
    chainId: params.chainId,
    denom,
    bech32Prefix: prefix,
    blockTimeMs: options.blockTimeMs ?? 1000,
    dir,
    hub: { controlUrl: '' },
    validators,
    background: background.map((b, i) => ({
      name: b.name,
      moniker: `${b.name}-moniker`,
      operatorAddress: b.operator,
      accountAddress: b.account,
      consensusAddress: addressOf(b.publicKey),
      votingPower: powers[i] ?? 0,
    })),
    nodes,
    accounts,
  };
  return { info, genesis, hubAddress, background };
}

interface HomeSpec extends PlannedNode {
  dir: string;
  portBase: number;
  hubAddress: string;
  blockTimeMs: number;
  genesisFile: string;
  keyMode: KeyMode;
  /** The validator's real key file, copied into a signing node's home (file mode). */
  realKeyFile: string | undefined;
  /** Validators peer with these (`id@host:port`). */
  sentryPeers: string[];
  /** Sentries keep these private and unconditional. */
  validatorIds: string[];
  store: StorePolicy;
}

/**
 * Writes one node home (config.toml, app.toml, genesis.json, keys, sign state, cosmovisor's layout;
 * no block store) and describes it. Sentries take snapshots, as the fleet's full nodes facing the
 * network would; validators keep their disk for signing.
 */
function writeNodeHome(n: HomeSpec): DevnetNode {
  const home = join(n.dir, 'nodes', n.name);
  const isSentry = n.role === 'sentry';
  const signerLaddr =
    n.keyMode === 'signer' && !isSentry ? `unix://${join(home, 'data', 'priv_validator.sock')}` : null;
  mkdirSync(join(home, 'data'), { recursive: true });
  mkdirSync(join(home, 'config'), { recursive: true });
  writeFileSync(
    join(home, 'config', 'config.toml'),
    renderConfigToml({
      moniker: n.name,
      hubAddress: n.hubAddress,
      rpcAddress: `${n.ip}:${n.portBase + 1}`,
      p2pAddress: `${n.ip}:${n.portBase}`,
      persistentPeers: isSentry ? [] : n.sentryPeers,
      privatePeerIds: isSentry ? n.validatorIds : [],
      unconditionalPeerIds: isSentry ? n.validatorIds : [],
      pex: isSentry,
      // Documentation-range public address: no traffic is ever sent there.
      externalAddress: isSentry ? `198.51.100.${n.ip.split('.')[3]}:${n.portBase}` : '',
      doubleSignCheckHeight: 0,
      timeoutCommitMs: n.blockTimeMs,
      privValidatorLaddr: signerLaddr ?? '',
    }),
  );
  writeFileSync(
    join(home, 'config', 'app.toml'),
    renderAppToml({
      minRetainBlocks: n.store.retainBlocks,
      snapshotInterval: isSentry ? n.store.snapshotInterval : 0,
    }),
  );
  copyFileSync(n.genesisFile, join(home, 'config', 'genesis.json'));
  writeJson(join(home, 'config', 'node_key.json'), nodeKeyJson(n.nodeKey));
  // A remote signer keeps the key and the sign state: neither is in the home.
  if (!signerLaddr) {
    const keyPath = join(home, 'config', 'priv_validator_key.json');
    if (n.realKeyFile) copyFileSync(n.realKeyFile, keyPath);
    else writeJson(keyPath, privValidatorKeyJson(n.validatorKey));
    writePrivState(join(home, 'data', 'priv_validator_state.json'), INITIAL_STATE);
  }
  layoutCosmovisor(home);
  return {
    name: n.name,
    role: n.role,
    validator: n.validator,
    signing: n.signing,
    home,
    rpcUrl: `http://${n.ip}:${n.portBase + 1}`,
    p2pAddress: `${n.ip}:${n.portBase}`,
    cometNodeId: nodeIdOf(n.nodeKey.publicKey),
    command: nodeCommand(home),
    cosmovisorCommand: cosmovisorCommand(home),
    signerLaddr,
  };
}

/**
 * Adds a sentry home to an existing devnet (e.g. an autoscaling replacement) on the next free
 * loopback address, and records it in `info` (the caller rewrites devnet.json). Like a new machine,
 * it holds no chain data: started on a chain past the peers' retained blocks, it must state-sync.
 */
export function addSentryHome(
  info: DevnetInfo,
  hubAddress: string,
  store: StorePolicy,
  name?: string,
): DevnetNode {
  const portBase = parseHostPort(hubAddress).port - 2;
  const lastIp = Math.max(1, ...info.nodes.map((n) => Number(new URL(n.rpcUrl).hostname.split('.')[3])));
  if (lastIp >= 254) throw new Error('no loopback address left for another node');
  const sentryName = name ?? `sentry-${info.nodes.filter((n) => n.role === 'sentry').length + 1}`;
  if (info.nodes.some((n) => n.name === sentryName))
    throw new Error(`a node named "${sentryName}" already exists`);
  const node = writeNodeHome({
    name: sentryName,
    role: 'sentry',
    validator: null,
    signing: false,
    ip: `127.0.0.${lastIp + 1}`,
    nodeKey: generateEd25519(),
    validatorKey: generateEd25519(),
    dir: info.dir,
    portBase,
    hubAddress,
    blockTimeMs: info.blockTimeMs,
    genesisFile: join(info.dir, 'genesis.json'),
    keyMode: 'file',
    realKeyFile: undefined,
    sentryPeers: [],
    validatorIds: info.nodes.filter((n) => n.role === 'validator').map((n) => n.cometNodeId),
    store,
  });
  info.nodes.push(node);
  return node;
}

export function writeDevnetInfo(info: DevnetInfo): void {
  writeJson(join(info.dir, 'devnet.json'), info);
}
