/** Pilot configs for devnet nodes: process mode (the pilot runs the node's command), loopback everything. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { stringify } from 'smol-toml';
import { DAEMON_NAME } from '../devnet/binary.js';
import type { DevnetInfo } from '../devnet/index.js';
import { type PilotConfig, parseConfig } from '../pilot/config.js';

export interface PilotSetup {
  config: PilotConfig;
  file: string;
  stateDir: string;
}

export interface PilotConfigOptions {
  commanderUrl?: string;
  /**
   * File holding the fleet enrollment token. Each pilot gets its own copy in its state folder, as each
   * machine does: a pilot deletes its copy once enrolled.
   */
  enrollmentTokenFile?: string;
  /** Cloud instance id the pilot claims (identity "none"): the commander trusts no claim. */
  instanceId?: string;
  /** The instance metadata service of the node's emulated EC2 instance: the pilot proves it (identity "ec2"). */
  imdsUrl?: string;
  reportIntervalMs?: number;
  /**
   * Run the daemon through cosmovisor (the node's `cosmovisorCommand`, `[daemon.cosmovisor] name =
   * "devnetd"`): cosmovisor switches binaries at a chain upgrade's halt.
   */
  cosmovisor?: boolean;
  /** Other nodes state-sync against this node's RPC (`daemon.state_sync_rpc_url` = its RPC URL). */
  serveStateSync?: boolean;
  /** An empty block store waits for the commander's state-sync action (`[bootstrap] state_sync`). */
  bootstrapStateSync?: boolean;
  /** Keys merged into each section after the defaults, e.g. `{ validator: { stall_after_ms: 1500 } }`. */
  extra?: Record<string, Record<string, unknown>>;
}

/**
 * Writes a pilot config (TOML, mode 0600) for a devnet node and parses it back through the pilot's own
 * schema, so a config that the pilot would refuse fails here, at once. Timings suit the devnet's
 * sub-second to one-second blocks.
 */
export async function pilotConfigFor(
  info: DevnetInfo,
  nodeName: string,
  dir: string,
  opts: PilotConfigOptions = {},
): Promise<PilotSetup> {
  const node = info.nodes.find((n) => n.name === nodeName);
  if (!node)
    throw new Error(`no devnet node ${nodeName}; nodes: ${info.nodes.map((n) => n.name).join(', ')}`);
  const v = info.validators.find((x) => x.name === node.validator);
  const hot = info.accounts.find((a) => a.name === 'hot');
  const stateDir = path.join(dir, `pilot-${nodeName}`);
  await fs.mkdir(stateDir, { recursive: true, mode: 0o700 });
  const [p2pHost, p2pPort] = node.p2pAddress.split(':') as [string, string];
  const doc: Record<string, Record<string, unknown>> = {
    node: {
      name: nodeName,
      role: node.role,
      chain_id: info.chainId,
      state_dir: stateDir,
      ...(opts.imdsUrl
        ? { identity: 'ec2', imds_url: opts.imdsUrl }
        : opts.instanceId
          ? { instance_id: opts.instanceId }
          : {}),
    },
    daemon: {
      mode: 'process',
      command: opts.cosmovisor ? node.cosmovisorCommand : node.command,
      home: node.home,
      ...(opts.cosmovisor ? { cosmovisor: { name: DAEMON_NAME } } : {}),
      rpc_url: node.rpcUrl,
      ...(opts.serveStateSync ? { state_sync_rpc_url: node.rpcUrl } : {}),
      p2p_port: Number(p2pPort),
      p2p_host: p2pHost,
      restart_backoff_ms: 200,
      restart_backoff_max_ms: 1000,
      stop_timeout_ms: 3000,
    },
    http: { listen: '127.0.0.1:0' },
    // The pilot's own releases (upgrade-pilot): PilotProcess runs `current` from here once one is installed.
    upgrade: { install_dir: path.join(stateDir, 'lib') },
    sockets: { flood_inbound_total: 40, flood_syn_recv: 40, flood_per_remote: 40 },
    ...(opts.bootstrapStateSync ? { bootstrap: { state_sync: true } } : {}),
  };
  if (opts.commanderUrl) {
    const tokenFile = path.join(stateDir, 'enrollment-token');
    if (opts.enrollmentTokenFile) {
      await fs.copyFile(opts.enrollmentTokenFile, tokenFile);
      await fs.chmod(tokenFile, 0o600);
    }
    doc.commander = {
      url: opts.commanderUrl,
      report_interval_ms: opts.reportIntervalMs ?? 1000,
      request_timeout_ms: 2000,
      ...(opts.enrollmentTokenFile ? { enrollment_token_file: tokenFile } : {}),
    };
  }
  if (v) {
    doc.validator = {
      consensus_address: v.consensusAddress,
      operator_address: v.operatorAddress,
      account_address: v.accountAddress,
      // The devnet writes a signer socket into the node's home when its nodes run with a remote signer.
      ...(node.signerLaddr ? { key_mode: 'signer', signer_laddr: node.signerLaddr } : { key_mode: 'file' }),
      key_file: v.keyFile,
      double_sign_check_height: 4,
      fence_margin_ms: 200,
      recent_commits: 4,
      fresh_commits: 3,
      stall_after_ms: Math.max(1500, 4 * info.blockTimeMs),
    };
  }
  if (hot) {
    const mnemonicFile = path.join(stateDir, 'hot-mnemonic');
    await fs.writeFile(mnemonicFile, hot.mnemonic, { mode: 0o600 });
    doc.chain = {
      denom: info.denom,
      bech32_prefix: info.bech32Prefix,
      gas_price: `0.025${info.denom}`,
      hot_mnemonic_file: mnemonicFile,
      broadcast_poll_interval_ms: 200,
      broadcast_timeout_ms: 15_000,
    };
  }
  for (const [section, keys] of Object.entries(opts.extra ?? {})) doc[section] = { ...doc[section], ...keys };
  const file = path.join(dir, `pilot-${nodeName}.toml`);
  const text = stringify(doc);
  await fs.writeFile(file, text, { mode: 0o600 });
  return { config: parseConfig(text, file), file, stateDir };
}
