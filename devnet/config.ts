/**
 * The CometBFT files of a devnet node home: config.toml (writer, and the keys the node reads, with
 * CometBFT's checks of [statesync]) and config/genesis.json (the node reads its chain id; the chain
 * itself lives in the hub).
 */
import { parse } from 'smol-toml';
import * as z from 'zod';

export interface NodeConfigInput {
  moniker: string;
  /** The hub's node link, written as CometBFT's `proxy_app` (the app connection). */
  hubAddress: string;
  rpcAddress: string;
  p2pAddress: string;
  persistentPeers: string[];
  privatePeerIds: string[];
  unconditionalPeerIds: string[];
  pex: boolean;
  externalAddress: string;
  doubleSignCheckHeight: number;
  timeoutCommitMs: number;
  /** `unix://…` for a remote signer, '' for the key file in the home. */
  privValidatorLaddr: string;
}

export function renderConfigToml(c: NodeConfigInput): string {
  const list = (xs: string[]) => xs.join(',');
  return `# This is a TOML config file.
# For more information, see https://github.com/toml-lang/toml

# NOTE: Any path below can be absolute (e.g. "/var/myawesomeapp/data") or
# relative to the home directory (e.g. "data"). The home directory is
# "$HOME/.cometbft" by default, but could be changed via $CMTHOME env variable
# or --home cmd flag.

# The version of the CometBFT binary that created or
# last modified the config file. Do not modify this.
version = "0.38.12"

#######################################################################
###                   Main Base Config Options                      ###
#######################################################################

# TCP or UNIX socket address of the ABCI application,
# or the name of an ABCI application compiled in with the CometBFT binary
# (devnet: the hub that holds the chain)
proxy_app = "tcp://${c.hubAddress}"

# A custom human readable name for this node
moniker = "${c.moniker}"

# Database backend: goleveldb | cleveldb | boltdb | rocksdb | badgerdb
db_backend = "goleveldb"

# Database directory
db_dir = "data"

# Output level for logging, including package level options
log_level = "info"

# Output format: 'plain' (colored text) or 'json'
log_format = "plain"

##### additional base config options #####

# Path to the JSON file containing the initial validator set and other meta data
genesis_file = "config/genesis.json"

# Path to the JSON file containing the private key to use as a validator in the consensus protocol
priv_validator_key_file = "config/priv_validator_key.json"

# Path to the JSON file containing the last sign state of a validator
priv_validator_state_file = "data/priv_validator_state.json"

# TCP or UNIX socket address for CometBFT to listen on for
# connections from an external PrivValidator process
priv_validator_laddr = "${c.privValidatorLaddr}"

# Path to the JSON file containing the private key to use for node authentication in the p2p protocol
node_key_file = "config/node_key.json"

#######################################################################
###                 Advanced Configuration Options                  ###
#######################################################################

#######################################################
###       RPC Server Configuration Options          ###
#######################################################
[rpc]

# TCP or UNIX socket address for the RPC server to listen on
laddr = "tcp://${c.rpcAddress}"

# A list of origins a cross-domain request can be executed from
cors_allowed_origins = []

# Activate unsafe RPC commands like /dial_seeds and /unsafe_flush_mempool
unsafe = true

# Maximum number of simultaneous connections (including WebSocket).
max_open_connections = 900

# How long to wait for a tx to be committed during /broadcast_tx_commit.
timeout_broadcast_tx_commit = "10s"

#######################################################
###           P2P Configuration Options             ###
#######################################################
[p2p]

# Address to listen for incoming connections
laddr = "tcp://${c.p2pAddress}"

# Address to advertise to peers for them to dial.
# If empty, will use the same port as the laddr,
# and will introspect on the listener to figure out the actual IP address.
external_address = "${c.externalAddress}"

# Comma separated list of seed nodes to connect to
seeds = ""

# Comma separated list of nodes to keep persistent connections to
persistent_peers = "${list(c.persistentPeers)}"

# Path to address book
addr_book_file = "config/addrbook.json"

# Set true for strict address routability rules
# Set false for private or local networks
addr_book_strict = false

# Maximum number of inbound peers
max_num_inbound_peers = 40

# Maximum number of outbound peers to connect to, excluding persistent peers
max_num_outbound_peers = 10

# List of node IDs, to which a connection will be (re)established ignoring any existing limits
unconditional_peer_ids = "${list(c.unconditionalPeerIds)}"

# Maximum pause when redialing a persistent peer (if zero, exponential backoff is used)
persistent_peers_max_dial_period = "0s"

# Set true to enable the peer-exchange reactor
pex = ${c.pex}

# Comma separated list of peer IDs to keep private (will not be gossiped to other peers)
private_peer_ids = "${list(c.privatePeerIds)}"

# Toggle to disable guard against peers connecting from the same ip.
allow_duplicate_ip = true

# Peer connection configuration.
handshake_timeout = "20s"
dial_timeout = "3s"

#######################################################
###         State Sync Configuration Options        ###
#######################################################
[statesync]
# State sync rapidly bootstraps a new node by discovering, fetching, and restoring a state machine
# snapshot from peers instead of fetching and replaying historical blocks. Requires some peers in
# the network to take and serve state machine snapshots. State sync is not attempted if the node
# has any local state (LastBlockHeight > 0). The node will have a truncated block history,
# starting from the height of the snapshot.
enable = false

# RPC servers (comma-separated) for light client verification of the synced state machine and
# retrieval of state data for node bootstrapping. Also needs a trusted height and corresponding
# header hash obtained from a trusted source, and a period during which validators can be trusted.
#
# For Cosmos SDK-based chains, trust_period should usually be about 2/3 of the unbonding time (~2
# weeks) during which they can be financially punished (slashed) for misbehavior.
rpc_servers = ""
trust_height = 0
trust_hash = ""
trust_period = "168h0m0s"

# Time to spend discovering snapshots before initiating a restore.
discovery_time = "15s"

# Temporary directory for state sync snapshot chunks, defaults to the OS tempdir (typically /tmp).
# Will create a new, randomly named directory within, and remove it when done.
temp_dir = ""

# The timeout duration before re-requesting a chunk, possibly from a different
# peer (default: 1 minute).
chunk_request_timeout = "10s"

# The number of concurrent chunk fetchers to run (default: 1).
chunk_fetchers = "4"

#######################################################
###       Block Sync Configuration Options          ###
#######################################################
[blocksync]

# Block Sync version to use:
#
# In v0.37, v1 and v2 of the block sync protocols were deprecated.
# Please use v0 instead.
#
#   1) "v0" - the default block sync implementation
version = "v0"

#######################################################
###         Consensus Configuration Options         ###
#######################################################
[consensus]

# How many blocks to look back to check existence of the node's consensus votes before joining consensus
# When non-zero, the node will panic upon restart
# if the same consensus key was used to sign {double_sign_check_height} last blocks.
# So, validators should stop the state machine, wait for some blocks, and then restart the state machine to avoid panic.
double_sign_check_height = ${c.doubleSignCheckHeight}

wal_file = "data/cs.wal/wal"

# How long we wait after committing a block, before starting on the new
# height (this gives us a chance to receive some more precommits, even
# though we already have +2/3).
timeout_commit = "${c.timeoutCommitMs}ms"

#######################################################
###   Transaction Indexer Configuration Options     ###
#######################################################
[tx_index]

# What indexer to use for transactions
indexer = "kv"

#######################################################
###       Instrumentation Configuration Options     ###
#######################################################
[instrumentation]

# When true, Prometheus metrics are served under /metrics on
# PrometheusListenAddr.
prometheus = false
`;
}

const csv = z
  .string()
  .default('')
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );

const GO_DURATION_UNITS: Record<string, number> = {
  h: 3_600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
  us: 1e-3,
  µs: 1e-3,
  ns: 1e-6,
};

/** Durations as Go's time.ParseDuration reads them ("20s", "500ms", "168h0m0s"), in milliseconds. */
const duration = z
  .string()
  .regex(/^(0|(\d+(\.\d+)?(h|m|s|ms|us|µs|ns))+)$/, 'must be a duration such as "500ms", "20s" or "168h0m0s"')
  .transform((s) => {
    let ms = 0;
    for (const [, n, unit] of s.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g))
      ms += Number(n) * (GO_DURATION_UNITS[unit ?? ''] ?? 0);
    return ms;
  });

/** [statesync] as CometBFT reads it (durations in ms); `stateSyncProblem` checks it as ValidateBasic. */
const StateSync = z.object({
  enable: z.boolean().default(false),
  rpc_servers: z
    .string()
    .default('')
    .transform((s) => (s.trim() === '' ? [] : s.split(',').map((x) => x.trim()))),
  trust_height: z.number().int().default(0),
  trust_hash: z.string().default(''),
  trust_period: duration.default(168 * 3_600_000),
  discovery_time: duration.default(15_000),
  chunk_request_timeout: duration.default(10_000),
});
export type StateSyncConfig = z.infer<typeof StateSync>;

export const NodeConfig = z.object({
  moniker: z.string().min(1, 'moniker must name the node'),
  proxy_app: z.string().min(1, 'proxy_app must be the hub address, e.g. "tcp://127.0.0.1:26658"'),
  priv_validator_key_file: z.string().default('config/priv_validator_key.json'),
  priv_validator_state_file: z.string().default('data/priv_validator_state.json'),
  priv_validator_laddr: z
    .string()
    .regex(
      /^(unix:\/\/.+)?$/,
      'must be "" or unix:///path/to/priv_validator.sock (the devnet node speaks privval over unix sockets only)',
    )
    .default(''),
  genesis_file: z.string().default('config/genesis.json'),
  node_key_file: z.string().default('config/node_key.json'),
  rpc: z.object({ laddr: z.string(), unsafe: z.boolean().default(false) }),
  p2p: z.object({
    laddr: z.string(),
    external_address: z.string().default(''),
    persistent_peers: csv,
    unconditional_peer_ids: csv,
    private_peer_ids: csv,
    max_num_inbound_peers: z.number().int().nonnegative().default(40),
    max_num_outbound_peers: z.number().int().nonnegative().default(10),
    handshake_timeout: duration.default(20_000),
    pex: z.boolean().default(true),
  }),
  consensus: z.object({ double_sign_check_height: z.number().int().nonnegative().default(0) }).default({
    double_sign_check_height: 0,
  }),
  /** Where the block store lives (data/blockstore.db), relative to the home. */
  db_dir: z.string().default('data'),
  statesync: StateSync.prefault({}),
});
export type NodeConfig = z.infer<typeof NodeConfig>;

export function parseNodeConfig(text: string, path: string): NodeConfig {
  const parsed = NodeConfig.safeParse(parse(text));
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`${path}: ${issues}`);
  }
  return parsed.data;
}

/** Go's hex.DecodeString error for `s`, or null when it decodes. */
function hexProblem(s: string): string | null {
  const bad = /[^0-9a-fA-F]/.exec(s)?.[0];
  if (bad)
    return `encoding/hex: invalid byte: U+${bad.codePointAt(0)?.toString(16).toUpperCase().padStart(4, '0')} '${bad}'`;
  return s.length % 2 ? 'encoding/hex: odd length hex string' : null;
}

/** CometBFT's StateSyncConfig.ValidateBasic: why [statesync] is refused, or null. */
export function stateSyncProblem(c: StateSyncConfig): string | null {
  if (!c.enable) return null;
  if (c.rpc_servers.length === 0) return 'rpc_servers is required';
  if (c.rpc_servers.length < 2) return 'at least two rpc_servers entries is required';
  if (c.rpc_servers.some((s) => s === '')) return 'found empty rpc_servers entry';
  if (c.discovery_time !== 0 && c.discovery_time < 5000)
    return 'discovery time must be 0s or greater than five seconds';
  if (c.trust_period <= 0) return 'trusted_period is required';
  if (c.trust_height <= 0) return 'trusted_height is required';
  if (c.trust_hash === '') return 'trusted_hash is required';
  const hex = hexProblem(c.trust_hash);
  if (hex) return `invalid trusted_hash: ${hex}`;
  if (c.chunk_request_timeout < 5000) return 'chunk_request_timeout must be at least 5 seconds';
  return null;
}

export interface GenesisFileInput {
  chainId: string;
  genesisTimeMs: number;
  voteExtensionsEnableHeight: number;
}

/** A CometBFT genesis.json holding what a node reads before it reaches the chain. */
export function renderGenesisJson(g: GenesisFileInput): string {
  const doc = {
    genesis_time: new Date(g.genesisTimeMs).toISOString(),
    chain_id: g.chainId,
    initial_height: '1',
    consensus_params: { abci: { vote_extensions_enable_height: String(g.voteExtensionsEnableHeight) } },
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

export const NodeGenesis = z.object({ chain_id: z.string().min(1, 'chain_id must name the chain') });
