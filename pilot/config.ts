import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import * as z from 'zod';
import { ChainId, KeyMode, NodeId, P2pHost, Role, RpcServerUrl } from '../protocol/index.js';
import { resolveBinary } from './binary-install.js';
import { commanderUrlProblem } from './commander-url.js';
import { cosmovisorSettings } from './cosmovisor.js';

const Ms = z.number().int().positive();
const Amount = z.string().regex(/^\d+$/, 'use a whole number of base units as a string, e.g. "1000000"');
const Url = z.url('use a full URL such as http://127.0.0.1:26657');
const HostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'use host:port, e.g. 127.0.0.1:26680');

export const PilotConfig = z.strictObject({
  node: z.strictObject({
    name: NodeId,
    role: Role,
    chain_id: ChainId,
    /** Where the pilot keeps its persistent state (seq, epochs, executed actions, secrets). */
    state_dir: z.string().min(1),
    /**
     * The cloud instance this node runs on (e.g. the EC2 instance id), sent at enrollment as a claim
     * only: the commander trusts an instance it can verify (`identity = "ec2"`), never a claim.
     */
    instance_id: z.string().min(1).max(64).optional(),
    /**
     * How the pilot proves its machine at enrollment. `ec2`: it sends the instance identity document
     * and signature from the instance metadata service (IMDSv2), which the commander verifies:
     * the only way to be approved without a person (autoscaled sentries). `none`: nothing is proven.
     */
    identity: z.enum(['none', 'ec2']).default('none'),
    /** The instance metadata service (tests point it at the devnet EC2 emulation). */
    imds_url: Url.default('http://169.254.169.254'),
  }),
  daemon: z
    .strictObject({
      mode: z.enum(['systemd', 'process']),
      unit: z.string().min(1).optional(),
      command: z.array(z.string().min(1)).min(1).optional(),
      home: z.string().min(1),
      rpc_url: Url.default('http://127.0.0.1:26657'),
      p2p_port: z.number().int().min(1).max(65535).default(26656),
      /** Local address the p2p port is bound to, when several daemons share a host (e.g. 127.0.0.2). */
      p2p_host: P2pHost.optional(),
      restart_backoff_ms: Ms.default(1000),
      restart_backoff_max_ms: Ms.default(30_000),
      stop_timeout_ms: Ms.default(10_000),
      /**
       * The daemon runs under cosmovisor (`command`, or the unit's ExecStart, is `cosmovisor run start`):
       * cosmovisor switches binaries at upgrades, and the pilot reports whether the next one is staged.
       */
      cosmovisor: z
        .strictObject({
          /** DAEMON_NAME: the daemon binary's file name in cosmovisor's bin folders. */
          name: z
            .string()
            .regex(
              /^[A-Za-z0-9._-]+$/,
              'use DAEMON_NAME, the file name of the daemon binary in <home>/cosmovisor/genesis/bin/, e.g. "gaiad"',
            ),
          /** DAEMON_HOME: the folder holding cosmovisor/ (default daemon.home). */
          home: z
            .string()
            .startsWith('/', 'use DAEMON_HOME, an absolute path (the folder holding cosmovisor/)')
            .optional(),
        })
        .optional(),
      /**
       * The chain binary the pilot puts in place before it starts the daemon (a new machine has none):
       * downloaded from `url` when `path` is missing or has another sha256, checked, then renamed into
       * place with mode 0755 (pilot/binary-install.ts).
       */
      binary: z
        .strictObject({
          /** A chain-registry `codebase.binaries` value; its `?checksum=sha256:<hex>` counts as `sha256`. */
          url: Url,
          sha256: z
            .string()
            .regex(/^[0-9a-fA-F]{64}$/, 'use the 64 hex characters sha256sum prints for the binary')
            .optional(),
          /** Default with [daemon.cosmovisor]: <cosmovisor home>/cosmovisor/genesis/bin/<name>. */
          path: z.string().startsWith('/', 'use an absolute path: the executable the daemon runs').optional(),
          download_timeout_ms: Ms.default(600_000),
        })
        .optional(),
      /**
       * The URL the fleet's other nodes reach this node's RPC at (its private address; `rpc.laddr`
       * must listen there): reported, so that new nodes state-sync against it. Unset: it serves none.
       */
      state_sync_rpc_url: RpcServerUrl.optional(),
    })
    .refine((d) => d.mode !== 'systemd' || d.unit, {
      message: 'mode "systemd" needs unit = "<name>.service"',
      path: ['unit'],
    })
    .refine((d) => d.mode !== 'process' || d.command, {
      message: 'mode "process" needs command = ["/path/to/daemon", "start", ...]',
      path: ['command'],
    }),
  commander: z
    .strictObject({
      url: Url.superRefine((url, ctx) => {
        const problem = URL.canParse(url) ? commanderUrlProblem(url) : null;
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
      enrollment_token_file: z.string().min(1).optional(),
      report_interval_ms: Ms.default(5000),
      request_timeout_ms: Ms.default(10_000),
      /** Raise the dead-man alert when the commander is silent or its tick is this stale. */
      dead_man_after_ms: Ms.default(120_000),
    })
    .optional(),
  validator: z
    .strictObject({
      consensus_address: z.string().regex(/^[0-9A-F]{40}$/, 'use the 40-hex uppercase consensus address'),
      operator_address: z.string().min(1).optional(),
      account_address: z.string().min(1).optional(),
      /**
       * Who signs for the validator. `signer`: this pilot is the daemon's CometBFT remote signer
       * (the daemon listens on priv_validator_laddr, the key never enters its home); `file`: a
       * promote copies the key into the home and restarts the daemon; `external`: Horcrux, TMKMS or
       * another signer does, and Beam only watches.
       */
      key_mode: KeyMode.default('signer'),
      /** The real priv_validator_key.json, kept outside the daemon home (mode 0600). */
      key_file: z.string().min(1).optional(),
      /** signer mode: the daemon's priv_validator_laddr, which this pilot dials. */
      signer_laddr: z
        .string()
        .regex(/^unix:\/\/\/.+/, "use unix:///absolute/path.sock, the daemon's priv_validator_laddr")
        .optional(),
      double_sign_check_height: z.number().int().nonnegative().default(10),
      /** Safety margin subtracted from the lease before the pilot fences itself. */
      fence_margin_ms: z.number().int().nonnegative().default(2000),
      /** Commits checked for the validator's signature. */
      recent_commits: z.number().int().min(1).max(100).default(5),
      /** A signature within this many latest commits counts as fresh. */
      fresh_commits: z.number().int().min(1).max(100).default(3),
      /** The node counts as stalled when its height has not advanced for this long. */
      stall_after_ms: Ms.default(15_000),
    })
    .optional(),
  chain: z
    .strictObject({
      denom: z.string().min(1),
      bech32_prefix: z.string().min(1).default('cosmos'),
      gas_price: z
        .string()
        .regex(/^\d+(\.\d+)?[a-zA-Z][a-zA-Z0-9/]*$/, 'use amount+denom, e.g. "0.025uatom"'),
      /** Mnemonic of the hot authz grantee key (mode 0600). */
      hot_mnemonic_file: z.string().min(1).optional(),
      gas_limit: Ms.default(400_000),
      broadcast_poll_interval_ms: Ms.default(3000),
      broadcast_timeout_ms: Ms.default(60_000),
      query_chain: z.boolean().default(true),
    })
    .optional(),
  limits: z
    .strictObject({
      max_delegate_per_action: Amount.default('0'),
      max_delegate_per_day: Amount.default('0'),
      allow_votes: z.boolean().default(true),
      allow_withdraw: z.boolean().default(true),
      /**
       * Fees the hot key may pay per UTC day, in base units of chain.gas_price's denom; a transaction
       * that would exceed it is refused. Default: 20 transactions at gas_limit × gas_price.
       */
      max_fee_per_day: Amount.optional(),
      /**
       * Whether the commander may replace this pilot (`upgrade-pilot`, `rollback-pilot`): new code
       * running as this user. The tarball's sha256 comes with the action; false = upgrades by hand.
       */
      allow_upgrade: z.boolean().default(true),
      /** Whether the commander may unjail the validator (`MsgExec(MsgUnjail)` with the hot key). */
      allow_unjail: z.boolean().default(true),
    })
    .default({
      max_delegate_per_action: '0',
      max_delegate_per_day: '0',
      allow_votes: true,
      allow_withdraw: true,
      allow_upgrade: true,
      allow_unjail: true,
    }),
  /** Where the pilot's releases live (install.sh's layout) and how long a download may take. */
  upgrade: z
    .strictObject({
      /** `releases/<version>/` and the `current` link the systemd unit runs; writable by the pilot's user. */
      install_dir: z
        .string()
        .startsWith('/', 'use an absolute path, e.g. /usr/local/lib/beam')
        .default('/usr/local/lib/beam'),
      download_timeout_ms: Ms.default(120_000),
    })
    .default({ install_dir: '/usr/local/lib/beam', download_timeout_ms: 120_000 }),
  /** How a node that starts with an empty block store catches up (pilot/state-sync.ts). */
  bootstrap: z
    .strictObject({
      /**
       * Wait for the commander's state-sync action (trust height, hash and RPC servers from the
       * fleet's healthy nodes) before the first start of a daemon whose block store is empty.
       */
      state_sync: z.boolean().default(false),
    })
    .default({ state_sync: false }),
  sockets: z
    .strictObject({
      flood_inbound_total: z.number().int().positive().default(200),
      flood_syn_recv: z.number().int().positive().default(50),
      flood_per_remote: z.number().int().positive().default(50),
    })
    .default({ flood_inbound_total: 200, flood_syn_recv: 50, flood_per_remote: 50 }),
  http: z
    .strictObject({ listen: HostPort.default('127.0.0.1:26680') })
    .default({ listen: '127.0.0.1:26680' }),
  alerts: z
    .strictObject({
      slack_webhook_url: Url.optional(),
      telegram_api_url: Url.default('https://api.telegram.org'),
      telegram_bot_token_file: z.string().min(1).optional(),
      telegram_chat_id: z.string().min(1).optional(),
    })
    .optional(),
  standalone: z
    .strictObject({
      auto_bond_threshold: Amount.optional(),
      fee_reserve: Amount.default('1000000'),
      withdraw_before_bond: z.boolean().default(true),
      interval_ms: Ms.default(60_000),
    })
    .optional(),
});
export type PilotConfig = z.infer<typeof PilotConfig>;

/** Fix hints by key, appended to zod's message so every error says what to write. */
export function describeConfigError(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const key = issue.path.join('.');
    const section = issue.path.length > 1 ? `[${issue.path.slice(0, -1).join('.')}] ` : '';
    if (issue.code === 'unrecognized_keys') {
      return `${key || '(top level)'}: unknown key(s) ${issue.keys.join(', ')}: remove or correct the spelling`;
    }
    if (issue.code === 'invalid_type' && issue.input === undefined) {
      return `${key}: missing: add it under ${section || 'the top level'}(see beam-pilot init)`;
    }
    return `${key}: ${issue.message}`;
  });
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`config ${file}:\n  ${problems.join('\n  ')}`);
  }
}

export function parseConfig(text: string, file: string): PilotConfig {
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (error) {
    throw new ConfigError(file, [`not valid TOML: ${(error as Error).message.split('\n')[0]}`]);
  }
  const result = PilotConfig.safeParse(raw);
  if (!result.success) throw new ConfigError(file, describeConfigError(result.error));
  const cfg = result.data;
  const problems: string[] = [];
  if (cfg.node.role === 'validator' && !cfg.validator) {
    problems.push(
      'validator: missing: a validator node needs a [validator] section (consensus_address, key_file)',
    );
  }
  if (cfg.node.identity === 'ec2' && cfg.node.instance_id) {
    problems.push(
      'node.instance_id: remove it: with identity = "ec2" the instance id comes from the identity document',
    );
  }
  if (cfg.validator?.key_file && !path.isAbsolute(cfg.validator.key_file)) {
    problems.push('validator.key_file: use an absolute path outside the daemon home');
  }
  if (cfg.validator?.key_mode === 'signer') {
    if (!cfg.validator.key_file)
      problems.push('validator.key_file: missing: signer mode needs the key the pilot signs with');
    if (!cfg.validator.signer_laddr)
      problems.push(
        "validator.signer_laddr: missing: signer mode needs the daemon's priv_validator_laddr (unix:///…/priv_validator.sock)",
      );
  }
  const binary = cfg.daemon.binary;
  if (binary) {
    const spec = resolveBinary(binary, cosmovisorSettings(cfg));
    if ('problems' in spec) problems.push(...spec.problems);
  }
  if (cfg.bootstrap.state_sync && !cfg.commander) {
    problems.push(
      'bootstrap.state_sync: needs a [commander]: the trust height and hash come from it (or set it to false)',
    );
  }
  if (problems.length > 0) throw new ConfigError(file, problems);
  return cfg;
}

export async function loadConfig(file: string): Promise<PilotConfig> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    throw new ConfigError(file, [`cannot read ${file}: create it with beam-pilot init --config ${file}`]);
  }
  return parseConfig(text, file);
}

/** The commented example config `beam-pilot init` writes. */
export const EXAMPLE_CONFIG = `# beam-pilot configuration (TOML). Every key is documented; optional sections may be removed.

[node]
name = "val-a"                   # Beam's name for this node (lowercase, digits, dashes)
role = "validator"               # "validator" or "sentry"
chain_id = "cosmoshub-4"
state_dir = "/var/lib/beam-pilot" # seq, epochs, executed actions, node secret
identity = "none"                # "ec2": prove the EC2 instance at enrollment (IMDSv2 identity document);
                                 # autoscaled sentries need it to be approved without a person
# imds_url = "http://169.254.169.254"   # the instance metadata service
# instance_id = "i-0123456789abcdef0"  # identity = "none" only: an unproven claim, for the registry

[daemon]
mode = "systemd"                 # "systemd" (systemctl on unit) or "process" (pilot runs command)
unit = "gaiad.service"           # systemd mode
# command = ["/usr/local/bin/gaiad", "start", "--home", "/home/gaia/.gaia"]   # process mode
home = "/home/gaia/.gaia"        # daemon home (config/config.toml, data/)
rpc_url = "http://127.0.0.1:26657"
p2p_port = 26656
restart_backoff_ms = 1000        # first restart delay after a crash, doubled up to the max
restart_backoff_max_ms = 30000
stop_timeout_ms = 10000          # SIGTERM grace before SIGKILL
# state_sync_rpc_url = "http://10.0.1.12:26657"   # where the fleet's other nodes reach this node's RPC
                                 # (rpc.laddr must listen there): new nodes state-sync against it

# Uncomment when the daemon runs under cosmovisor (the unit, or command, runs "cosmovisor run start").
# [daemon.cosmovisor]
# name = "gaiad"                 # DAEMON_NAME: the binary's name in <home>/cosmovisor/genesis/bin/
# home = "/home/gaia/.gaia"      # DAEMON_HOME, when it is not daemon.home

# The chain binary the pilot installs before it starts the daemon (a new machine has none): checked
# against its sha256 at every start, downloaded again when missing or different.
# [daemon.binary]
# url = "https://github.com/cosmos/gaia/releases/download/v19.0.0/gaiad-v19.0.0-linux-amd64"
#                                # a chain registry codebase.binaries value; its ?checksum=sha256:<hex> counts
# sha256 = "<64 hex>"            # sha256sum of the binary
# path = "/home/gaia/.gaia/cosmovisor/genesis/bin/gaiad"   # the executable the daemon runs
#                                # (default with [daemon.cosmovisor]: <home>/cosmovisor/genesis/bin/<name>)
# download_timeout_ms = 600000

# Remove this section to run standalone (no commander).
[commander]
url = "https://beam.example.com" # https; plain http only for a commander on loopback
enrollment_token_file = "/var/lib/beam-pilot/enrollment-token"   # mode 0600; deleted once enrolled
report_interval_ms = 5000
request_timeout_ms = 10000
dead_man_after_ms = 120000       # alert when the commander is silent or its tick is this stale

# Validators only.
[validator]
consensus_address = "0123456789ABCDEF0123456789ABCDEF01234567"
operator_address = "cosmosvaloper1..."
account_address = "cosmos1..."   # the authz granter
key_mode = "signer"              # "signer": the pilot is the daemon's remote signer (no key in the home)
                                 # "file": promote copies the key into the home; "external": Horcrux/TMKMS
key_file = "/etc/beam/priv_validator_key.json"   # the real key, outside the home, mode 0600
signer_laddr = "unix:///home/gaia/.gaia/data/priv_validator.sock"   # = the daemon's priv_validator_laddr
double_sign_check_height = 10    # file mode: set in the daemon's config on promote
fence_margin_ms = 2000           # subtracted from the lease before self-fencing
recent_commits = 5               # commits inspected for our signature
fresh_commits = 3                # a signature within this many latest commits is "fresh"
stall_after_ms = 15000           # no new height for this long = stalled (signatures are not fresh)

[chain]
denom = "uatom"
bech32_prefix = "cosmos"
gas_price = "0.025uatom"
hot_mnemonic_file = "/etc/beam/hot-mnemonic"   # authz grantee key, mode 0600
gas_limit = 400000
broadcast_poll_interval_ms = 3000
broadcast_timeout_ms = 60000
query_chain = true

[bootstrap]                      # a node that starts with an empty block store (a new machine)
state_sync = false               # true: wait for the commander's state-sync action (trust height and hash
                                 # from the fleet's healthy nodes) before the daemon's first start

[limits]                         # what any commander may ask of this node
max_delegate_per_action = "0"    # base units; 0 forbids delegations
max_delegate_per_day = "0"
allow_votes = true
allow_withdraw = true
# max_fee_per_day = "200000"     # hot-key fees per day (gas_price's denom); default: 20 transactions
allow_upgrade = true             # the commander may install a new pilot release here (sha256-checked)
allow_unjail = true              # the commander may unjail the validator (hot key, MsgExec(MsgUnjail))

[upgrade]                        # the pilot's own releases (install.sh's layout)
install_dir = "/usr/local/lib/beam"   # releases/<version>/ and the current link the unit runs
download_timeout_ms = 120000

[sockets]                        # inbound p2p connection thresholds for "flooded"
flood_inbound_total = 200
flood_syn_recv = 50
flood_per_remote = 50

[http]
listen = "127.0.0.1:26680"       # /status, /healthz, /metrics

[alerts]                         # optional: where standalone alerts go
# slack_webhook_url = "https://hooks.slack.com/services/..."
telegram_api_url = "https://api.telegram.org"
# telegram_bot_token_file = "/etc/beam/telegram-token"
# telegram_chat_id = "-100123"

[standalone]                     # local policies when no commander is configured
# auto_bond_threshold = "10000000"
fee_reserve = "1000000"
withdraw_before_bond = true
interval_ms = 60000
`;
