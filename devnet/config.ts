/**
 * The CometBFT files of a devnet node home: config.toml (writer, and the keys the node reads) and
 * config/genesis.json (the node reads its chain id; the chain itself lives in the hub).
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

/** Durations as CometBFT writes them: "20s", "500ms", "1m". */
const duration = z
  .string()
  .regex(/^\d+(ms|s|m)$/, 'must be a duration such as "500ms", "20s" or "1m"')
  .transform((s) => {
    const n = Number.parseInt(s, 10);
    return s.endsWith('ms') ? n : s.endsWith('s') ? n * 1000 : n * 60_000;
  });

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
