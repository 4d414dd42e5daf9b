/**
 * `devnet node --home DIR`: a Cosmos-daemon look-alike. Reads the CometBFT files of its home, takes
 * part in each height the hub announces through its private validator (the FilePV in the home, or
 * a remote signer on priv_validator_laddr, as CometBFT), keeps a real p2p listener and peers, and
 * serves CometBFT JSON-RPC; chain-wide queries go to the hub, within the node's own block store
 * (devnet/sync.ts: state sync, blocksync, then consensus; it signs only in consensus). It runs as a
 * daemon binary (a version and the upgrade handler it registers, devnet/binary.ts) and meets
 * x/upgrade's plans as the SDK's pre-blocker does, before every block it executes, whether it
 * signs or not: a height it cannot execute stops its consensus for good (CONSENSUS FAILURE, RPC
 * up), or, in blocksync, ends the process as CometBFT's blocksync panics.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isAbsolute, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { GetNodeInfoResponse } from 'cosmjs-types/cosmos/base/tendermint/v1beta1/query';
import * as z from 'zod';
import { cosmovisorPaths, writeUpgradeInfo } from './binary.js';
import type { UpgradeStatus } from './chain/types.js';
import { COMET_VERSION, b64, pubkeyJson } from './cometjson.js';
import { cometLog } from './cometlog.js';
import { type NodeConfig, NodeGenesis, parseNodeConfig, stateSyncProblem } from './config.js';
import { Consensus, RoundPush } from './consensus.js';
import { HubLink, type HubHello, type HubPush } from './hublink.js';
import { readJsonFile } from './jsonfile.js';
import { NodeKeyFile, addressOf, keyFromPrivKeyValue, nodeIdOf } from './keys.js';
import { P2p } from './p2p.js';
import { type PrivValidator, openPrivValidator } from './privvalidator.js';
import { RpcError, internalError, invalidParams } from './rpcerror.js';
import { NodeSync } from './sync.js';
import {
  type Binary,
  type UpgradeHalt,
  UpgradeHistorySchema,
  UpgradeStatusSchema,
  upgradeHalt,
} from './upgradecheck.js';
import { parseHostPort } from './wire.js';

/** Ends the process: exit code 1 for a start error, 2 for a panic (as Go exits). */
export type Fatal = (message: string, code?: number) => void;

const GET_NODE_INFO = '/cosmos.base.tendermint.v1beta1.Service/GetNodeInfo';
/** How long an RPC request waits for the first hub link. */
const LINK_WAIT_MS = 3_000;
const TipPush = z.object({
  t: z.literal('tip'),
  height: z.number().int(),
  base: z.number().int(),
  upgrades: UpgradeHistorySchema,
});
/** A new height's proposal reached this node (a full node's consensus follows the height). */
const ProposalPush = z.object({
  t: z.literal('proposal'),
  height: z.number().int().positive(),
  round: z.number().int().nonnegative(),
  /** x/upgrade's state before this height. */
  upgrade: UpgradeStatusSchema,
});
/** The hub's answer to abci_info (CometBFT's shape). */
interface AbciInfo {
  response: {
    data: string;
    version: string;
    app_version: string;
    last_block_height: string;
    last_block_app_hash: string;
  };
}

export class NodeDaemon {
  readonly nodeId: string;
  readonly validatorAddress: string;
  private readonly hub: HubLink;
  private readonly p2p: P2p;
  private readonly sync: NodeSync;
  private readonly consensus: Consensus;
  private rpcServer: Server | undefined;
  private linked = false;
  /** Resolves once the hub answered and the node knows how far behind it is. */
  private readonly ready: Promise<void>;
  private markReady: () => void = () => undefined;
  private checkedDoubleSign = false;
  /** The height whose pre-blocker stopped this node (CometBFT's CONSENSUS FAILURE, or blocksync's panic). */
  private haltedAt: number | null = null;
  private appliedLogged = 0;

  private constructor(
    readonly config: NodeConfig,
    nodePubKey: Uint8Array,
    readonly chainId: string,
    private readonly pv: PrivValidator,
    private readonly onFatal: Fatal,
    private readonly home: string,
    readonly binary: Binary,
  ) {
    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
    this.nodeId = nodeIdOf(nodePubKey);
    this.validatorAddress = addressOf(pv.pubKey);
    const { host, port } = parseHostPort(config.rpc.laddr);
    const p2pAddr = parseHostPort(config.p2p.laddr);
    this.consensus = new Consensus({
      chainId,
      pv,
      address: Uint8Array.from(Buffer.from(this.validatorAddress, 'hex')),
      send: (message) => this.hub.send(message),
      panic: (message) => onFatal(`panic: ${message}`, 2),
    });
    this.hub = new HubLink(
      config.proxy_app,
      () => ({
        name: config.moniker,
        nodeId: this.nodeId,
        pubkey: b64(pv.pubKey),
        rpcAddress: `${host}:${port}`,
        p2pAddress: `${p2pAddr.host}:${p2pAddr.port}`,
        version: binary.version,
        store: this.sync.range,
      }),
      (push) => this.onPush(push),
      (hello) => void this.onHubConnected(hello),
    );
    this.p2p = new P2p({
      self: { id: this.nodeId, network: '', moniker: config.moniker, listenAddr: config.p2p.laddr },
      laddr: config.p2p.laddr,
      maxInbound: config.p2p.max_num_inbound_peers,
      handshakeTimeoutMs: config.p2p.handshake_timeout,
      unconditionalIds: config.p2p.unconditional_peer_ids,
      serve: (peer, body) => this.sync.serve(peer, body),
      onPeer: (peer) => this.sync.onPeer(peer),
    });
    this.sync = new NodeSync({
      home,
      config,
      chainId,
      p2p: this.p2p,
      report: (store, catchingUp) => this.hub.send({ m: 'store', ...store, catchingUp }),
      fatal: (message) => onFatal(message),
      preBlock: (height, upgrade, blocksync) => this.preBlock(height, upgrade, blocksync),
    });
  }

  /**
   * Reads the home and opens the private validator; in socket mode that waits for the remote
   * signer's pubkey, and fails as CometBFT fails when none answers.
   */
  static async open(home: string, binary: Binary, onFatal: Fatal): Promise<NodeDaemon> {
    const path = (p: string) => (isAbsolute(p) ? p : join(home, p));
    const configPath = join(home, 'config', 'config.toml');
    if (!existsSync(configPath)) throw new Error(`${configPath}: file not found (is --home right?)`);
    const config = parseNodeConfig(readFileSync(configPath, 'utf8'), configPath);
    const stateSync = stateSyncProblem(config.statesync);
    if (stateSync) throw new Error(`error in config file: error in [statesync] section: ${stateSync}`);
    const nodeKey = keyFromPrivKeyValue(readJsonFile(path(config.node_key_file), NodeKeyFile).priv_key.value);
    const chainId = readJsonFile(path(config.genesis_file), NodeGenesis).chain_id;
    const pv = await openPrivValidator(config, home, chainId);
    return new NodeDaemon(config, nodeKey.publicKey, chainId, pv, onFatal, home, binary);
  }

  /** RPC first, then the hub link: a node the hub lists is already answering RPC. */
  async start(): Promise<void> {
    const { host, port } = parseHostPort(this.config.rpc.laddr);
    const server = createServer((req, res) => void this.serveHttp(req, res));
    this.rpcServer = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.hub.start();
  }

  async stop(): Promise<void> {
    this.sync.stop();
    this.hub.stop();
    await this.p2p.stop();
    await this.pv.close();
    this.rpcServer?.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.rpcServer ? this.rpcServer.close(() => resolve()) : resolve(),
    );
  }

  private async onHubConnected(hello: HubHello): Promise<void> {
    if (hello.chainId !== this.chainId) {
      return this.onFatal(
        `Error: the chain behind proxy_app is ${hello.chainId}, but genesis.json says chain_id ${this.chainId}`,
      );
    }
    // A halted node stays halted across a hub reconnect: its view stays frozen.
    if (this.haltedAt !== null) this.hub.send({ m: 'halt', height: this.haltedAt });
    if (this.linked) {
      this.hub.send({ m: 'store', ...this.sync.range, catchingUp: this.sync.catchingUp });
      this.sync.onTip(hello);
      return;
    }
    this.linked = true;
    const checkBlocks = this.config.consensus.double_sign_check_height;
    if (checkBlocks > 0) {
      const signed = await this.hub.request('signedRecently', {
        address: this.validatorAddress,
        blocks: checkBlocks,
      });
      if (signed) {
        return this.onFatal(
          `Error: failed to start node: this node's validator key (address ${this.validatorAddress}) has signed in the last ${checkBlocks} blocks (consensus.double_sign_check_height = ${checkBlocks}); stop the other signer, wait, then restart`,
        );
      }
    }
    this.checkedDoubleSign = true;
    // Before any await: a node at the tip is in consensus before the hub's next round push.
    this.sync.start(hello, hello.blocksyncRate);
    this.markReady();
    this.p2p.setNetwork(this.chainId);
    try {
      await this.p2p.listen();
    } catch (error) {
      return this.onFatal(
        `Error: failed to listen on p2p.laddr ${this.config.p2p.laddr}: ${(error as Error).message}`,
      );
    }
    for (const peer of this.config.p2p.persistent_peers) this.p2p.dial(peer);
  }

  private onPush(push: HubPush): void {
    const tip = TipPush.safeParse(push);
    if (tip.success) {
      this.sync.onTip(tip.data);
      return;
    }
    // A node catching up does not take part in consensus.
    if (!this.checkedDoubleSign || this.haltedAt !== null || this.sync.catchingUp) return;
    if (push.t === 'proposal') {
      const parsed = ProposalPush.safeParse(push);
      if (parsed.success) this.preBlock(parsed.data.height, parsed.data.upgrade, false);
      return;
    }
    if (push.t !== 'round') return;
    const parsed = RoundPush.safeParse(push);
    if (!parsed.success) return;
    const round = parsed.data;
    if (this.preBlock(round.height, round.upgrade, false)) this.consensus.onRound(round);
  }

  /**
   * x/upgrade's pre-blocker at `height`, with its state before that block: true when this binary
   * executes the block. It runs when a height's consensus reaches the node (a validator asked to
   * sign, a full node seeing the proposal) and before each block the node executes (consensus or
   * blocksync), so every node halts at a plan height its binary cannot run, signing or not.
   */
  private preBlock(height: number, upgrade: UpgradeStatus, blocksync: boolean): boolean {
    if (this.haltedAt !== null) return false;
    const halt = upgradeHalt(this.binary, upgrade, height);
    if (halt) {
      if (blocksync) this.panicInBlocksync(halt, height);
      else this.halt(halt, height);
      return false;
    }
    const plan = upgrade.plan;
    if (plan && plan.height <= height && this.appliedLogged !== height) {
      this.appliedLogged = height;
      cometLog('info', `applying upgrade "${plan.name}" at height: ${plan.height}`, { module: 'x/upgrade' });
    }
    return true;
  }

  /**
   * The pre-blocker's error in consensus: upgrade-info.json first (for cosmovisor), the log lines,
   * then consensus stops for good while RPC and p2p stay up, as a Cosmos daemon after a consensus
   * failure. The store stays below the height, and the hub freezes this node's view there.
   */
  private halt(halt: UpgradeHalt, height: number): void {
    this.haltedAt = height;
    this.sync.halt();
    if (halt.needed) writeUpgradeInfo(cosmovisorPaths(this.home).upgradeInfo, halt.needed);
    cometLog('error', halt.message, { module: 'x/upgrade' });
    cometLog('error', 'CONSENSUS FAILURE!!!', { module: 'consensus', height, err: halt.message });
    this.hub.send({ m: 'halt', height });
  }

  /**
   * The pre-blocker's error in blocksync: upgrade-info.json first, the log lines, then CometBFT's
   * blocksync panics (`Failed to process committed block`) and the process exits 2, its store
   * below the height (cosmovisor, seeing upgrade-info.json after the exit, switches binaries).
   */
  private panicInBlocksync(halt: UpgradeHalt, height: number): void {
    this.haltedAt = height;
    this.sync.halt();
    if (halt.needed) writeUpgradeInfo(cosmovisorPaths(this.home).upgradeInfo, halt.needed);
    cometLog('error', halt.message, { module: 'x/upgrade' });
    cometLog('error', 'error in proxyAppConn.FinalizeBlock', { module: 'state', err: halt.message });
    const panic = (hash: string) =>
      this.onFatal(`panic: Failed to process committed block (${height}:${hash}): ${halt.message}`, 2);
    this.hub.request('rpc', { method: 'devnet_block_hash', params: { height } }).then(
      (answer) => panic((answer as { hash?: string }).hash ?? ''),
      () => panic(''),
    );
  }

  private async localRpc(method: string, params: Record<string, unknown>): Promise<unknown> {
    if (method === 'health') return {};
    // Until the hub answered, the node does not know its place in the chain: a request waits a little.
    if (!this.checkedDoubleSign) {
      const unlinked = delay(LINK_WAIT_MS, 'unlinked', { ref: false });
      if ((await Promise.race([this.ready, unlinked])) === 'unlinked')
        throw internalError('not connected to the chain (hub unreachable)');
    }
    switch (method) {
      case 'status': {
        const sync = (await this.hub.request('rpc', { method: 'devnet_sync_info', params: {} })) as object;
        const vals = (await this.hub.request('rpc', { method: 'validators', params: { per_page: 100 } })) as {
          validators: { address: string; voting_power: string }[];
        };
        const power = vals.validators.find((v) => v.address === this.validatorAddress)?.voting_power ?? '0';
        return {
          node_info: this.nodeInfo((await this.abciInfo()).response.app_version),
          sync_info: { ...sync, catching_up: this.sync.catchingUp },
          validator_info: {
            address: this.validatorAddress,
            pub_key: pubkeyJson(this.pv.pubKey),
            voting_power: power,
          },
        };
      }
      case 'net_info': {
        const peers = [...this.p2p.peers.values()];
        const appVersion = (await this.abciInfo()).response.app_version;
        return {
          listening: true,
          listeners: [
            `Listener(@${parseHostPort(this.config.p2p.laddr).host}:${parseHostPort(this.config.p2p.laddr).port})`,
          ],
          n_peers: String(peers.length),
          peers: peers.map((p) => ({
            node_info: {
              ...this.nodeInfo(appVersion),
              id: p.info.id,
              moniker: p.info.moniker,
              listen_addr: p.info.listenAddr,
            },
            is_outbound: p.outbound,
            connection_status: { Duration: String((Date.now() - p.since) * 1_000_000) },
            remote_ip: p.remoteIp,
          })),
        };
      }
      case 'dial_peers': {
        if (!this.config.rpc.unsafe)
          throw internalError('unsafe RPC commands are disabled (rpc.unsafe = false)');
        const peers = params.peers;
        if (!Array.isArray(peers) || peers.some((p) => typeof p !== 'string')) {
          throw invalidParams('peers must be a list of "id@host:port" strings');
        }
        try {
          for (const p of peers as string[]) this.p2p.dial(p);
        } catch (error) {
          throw internalError((error as Error).message);
        }
        return { log: `Dialing peers in progress. See /net_info for details` };
      }
      case 'abci_info':
        return this.abciInfo();
      case 'abci_query':
        if (params.path === GET_NODE_INFO) return this.getNodeInfo();
        return this.hub.request('rpc', { method, params });
      default:
        return this.hub.request('rpc', { method, params });
    }
  }

  /** The app's Info: the chain's app version and last block from the hub, this binary's version. */
  private async abciInfo(): Promise<AbciInfo> {
    const info = (await this.hub.request('rpc', { method: 'abci_info', params: {} })) as AbciInfo;
    return { response: { ...info.response, version: this.binary.version } };
  }

  /** cmtservice GetNodeInfo over ABCI query: CometBFT's node info and the app's version info. */
  private async getNodeInfo(): Promise<unknown> {
    const { response } = await this.abciInfo();
    const node = this.nodeInfo(response.app_version);
    const value = GetNodeInfoResponse.encode({
      defaultNodeInfo: {
        protocolVersion: { p2p: 8n, block: 11n, app: BigInt(response.app_version) },
        defaultNodeId: node.id,
        listenAddr: node.listen_addr,
        network: node.network,
        version: node.version,
        channels: Buffer.from(node.channels, 'hex'),
        moniker: node.moniker,
        other: { txIndex: node.other.tx_index, rpcAddress: node.other.rpc_address },
      },
      applicationVersion: {
        name: 'devnet',
        appName: 'devnetd',
        version: this.binary.version,
        gitCommit: '',
        buildTags: '',
        goVersion: '',
        buildDeps: [],
        cosmosSdkVersion: 'v0.50.10',
      },
    }).finish();
    return {
      response: {
        code: 0,
        log: '',
        info: '',
        index: '0',
        key: null,
        value: b64(value),
        proofOps: null,
        height: response.last_block_height,
        codespace: '',
      },
    };
  }

  private nodeInfo(appVersion: string) {
    const { host, port } = parseHostPort(this.config.rpc.laddr);
    return {
      protocol_version: { p2p: '8', block: '11', app: appVersion },
      id: this.nodeId,
      listen_addr: this.config.p2p.laddr,
      network: this.chainId,
      version: COMET_VERSION,
      channels: '40202122233038606100',
      moniker: this.config.moniker,
      other: { tx_index: 'on', rpc_address: `tcp://${host}:${port}` },
    };
  }

  private async serveHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', 'http://localhost');
    let id: unknown = -1;
    let method: string;
    let params: Record<string, unknown>;
    const isPost = req.method === 'POST';
    if (isPost) {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          id?: unknown;
          method?: unknown;
          params?: unknown;
        };
        id = body.id ?? -1;
        method = String(body.method ?? '');
        params = (body.params && typeof body.params === 'object' ? body.params : {}) as Record<
          string,
          unknown
        >;
      } catch {
        return reply(200, {
          jsonrpc: '2.0',
          id: -1,
          error: { code: -32700, message: 'Parse error', data: 'invalid JSON' },
        });
      }
    } else {
      method = url.pathname.replace(/^\//, '');
      params = uriParams(url.searchParams);
    }
    try {
      const result = await this.localRpc(method, params);
      reply(200, { jsonrpc: '2.0', id, result });
    } catch (error) {
      const e =
        error instanceof RpcError
          ? error
          : internalError(error instanceof Error ? error.message : String(error));
      reply(isPost ? 200 : 500, {
        jsonrpc: '2.0',
        id,
        error: { code: e.code, message: e.message, data: e.data },
      });
    }
  }
}

/** CometBFT URI params: strings may be quoted, byte params (`tx`, `hash`) are 0x-hex. */
function uriParams(search: URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, raw] of search) {
    const v = raw.replace(/^"(.*)"$/, '$1');
    if ((k === 'tx' || k === 'hash') && /^0x/i.test(v))
      out[k] = Buffer.from(v.slice(2), 'hex').toString('base64');
    else if (k === 'peers') out[k] = JSON.parse(raw);
    else if (k === 'prove' || k === 'persistent' || k === 'unconditional' || k === 'private')
      out[k] = v === 'true';
    else out[k] = v;
  }
  return out;
}

/** Runs the daemon until SIGTERM/SIGINT; fatal start errors exit non-zero as CometBFT does. */
export async function runNode(home: string, binary: Binary): Promise<void> {
  let daemon: NodeDaemon;
  const fatal: Fatal = (message, code = 1) => {
    console.error(message);
    process.exit(code);
  };
  try {
    daemon = await NodeDaemon.open(home, binary, fatal);
    await daemon.start();
  } catch (error) {
    return fatal(`Error: ${(error as Error).message}`);
  }
  console.log(
    `devnet node ${daemon.config.moniker} (${daemon.nodeId}) ${binary.version} rpc ${daemon.config.rpc.laddr} p2p ${daemon.config.p2p.laddr}`,
  );
  let stopping = false;
  // Once: a signal to a process group (cosmovisor's) may arrive twice, through cosmovisor too.
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    daemon.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
