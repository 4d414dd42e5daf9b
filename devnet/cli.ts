/**
 * devnet CLI.
 *   up --dir DIR [--validators 1] [--standby 1] [--sentries 3] [--background-validators 20] [--power-share 0.05]
 *      [--block-time-ms 1000] [--port-base 26656] [--control-port 0] [--key-mode file|signer]
 *      [--retain-blocks 1000] [--snapshot-interval 100] [--blocksync-rate 300]
 *      [--no-start-nodes] [--no-grants] [--reset]
 *   hub --dir DIR [up's options]                       (= up --no-start-nodes)
 *   node [start|version] --home DIR [--binary PATH]    (a node home's daemon; the binary scripts run this)
 *   cosmovisor run start --home DIR                    (cosmovisor over a node home)
 *   stage-upgrade --home DIR --name N [--app-version V]
 *   status | nodes | evidence | validators            (control API; --dir DIR or --control-url URL)
 *   fund <address> <amount> [--denom D] | account [name] [--amount N] | block-time <ms>
 *   propose --title T --summary S [--voting-period-ms N] [--proposer ADDR] [--upgrade-name N --upgrade-height H [--upgrade-info I]]
 *   partition <node> | heal <node> | signatures [--address HEX] [--from-height N]
 *   kill <node> [--signal SIGKILL] | start <node> [--cosmovisor] | flood <node> --connections N [--duration-ms N]
 *   add-sentry [name]
 *   background [down N | up [N] | partition N | heal [N] | hold N | release | vote yes|no|abstain|no_with_veto|none]
 */
import { parseArgs } from 'node:util';
import { GENESIS_BINARY, currentBinary, readBinary, stageUpgrade } from './binary.js';
import { readDevnetInfo } from './info.js';

const USAGE = `usage: devnet <up|hub|node|cosmovisor|stage-upgrade|status|nodes|fund|account|propose|partition|heal|kill|start|flood|add-sentry|block-time|evidence|validators|signatures|background> [options]
  devnet up --dir DIR [--validators 1] [--standby 1] [--sentries 3] [--background-validators 20] [--power-share 0.05] [--block-time-ms 1000] [--port-base 26656] [--control-port 0] [--key-mode file|signer] [--retain-blocks 1000] [--snapshot-interval 100] [--blocksync-rate 300] [--no-start-nodes] [--no-grants] [--reset]
  devnet hub --dir DIR [same options as up]   (up --no-start-nodes)
  devnet node [start|version] --home DIR [--binary PATH]   (default binary: the home's cosmovisor/current one)
  devnet cosmovisor run start --home DIR     (env: DAEMON_HOME, DAEMON_NAME, DAEMON_POLL_INTERVAL, DAEMON_RESTART_AFTER_UPGRADE)
  devnet stage-upgrade --home DIR --name NAME [--app-version VERSION]
  devnet fund <address> <amount> [--denom stake] --dir DIR   (controls take --dir DIR or --control-url URL)
  devnet account [name] [--amount N]
  devnet propose --title T --summary S [--voting-period-ms N] [--proposer ADDR] [--upgrade-name N --upgrade-height H [--upgrade-info I]]
  devnet partition <node> | heal <node> | block-time <ms>
  devnet kill <node> [--signal SIGKILL|SIGTERM] | start <node> [--cosmovisor] | flood <node> --connections N [--duration-ms 10000]
  devnet add-sentry [name]
  devnet background [down N | up [N] | partition N | heal [N] | hold N | release | vote POLICY]
  devnet status | nodes | evidence | validators | signatures [--address HEX] [--from-height N]`;

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

function int(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) fail(`--${flag} must be a whole number, got "${value}"`);
  return Number(value);
}

function share(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(n > 0 && n < 1)) fail(`--power-share must be a fraction between 0 and 1, got "${value}"`);
  return n;
}

async function up(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      dir: { type: 'string' },
      validators: { type: 'string' },
      standby: { type: 'string' },
      sentries: { type: 'string' },
      'background-validators': { type: 'string' },
      'power-share': { type: 'string' },
      'block-time-ms': { type: 'string' },
      'port-base': { type: 'string' },
      'control-port': { type: 'string' },
      'key-mode': { type: 'string' },
      'retain-blocks': { type: 'string' },
      'snapshot-interval': { type: 'string' },
      'blocksync-rate': { type: 'string' },
      'no-start-nodes': { type: 'boolean' },
      'no-grants': { type: 'boolean' },
      reset: { type: 'boolean' },
    },
  });
  if (!values.dir) fail('devnet up: --dir DIR is required');
  const keyMode = values['key-mode'] ?? 'file';
  if (keyMode !== 'file' && keyMode !== 'signer') fail(`--key-mode must be file or signer, got "${keyMode}"`);
  // Imported lazily: `devnet node` must not load the chain.
  const { startDevnet } = await import('./index.js');
  const devnet = await startDevnet({
    dir: values.dir,
    validators: int(values.validators, 'validators'),
    standby: int(values.standby, 'standby'),
    sentries: int(values.sentries, 'sentries'),
    backgroundValidators: int(values['background-validators'], 'background-validators'),
    powerShare: share(values['power-share']),
    blockTimeMs: int(values['block-time-ms'], 'block-time-ms'),
    portBase: int(values['port-base'], 'port-base'),
    controlPort: int(values['control-port'], 'control-port'),
    keyMode,
    retainBlocks: int(values['retain-blocks'], 'retain-blocks'),
    snapshotInterval: int(values['snapshot-interval'], 'snapshot-interval'),
    blocksyncRate: int(values['blocksync-rate'], 'blocksync-rate'),
    startNodes: !values['no-start-nodes'],
    grants: !values['no-grants'],
    reset: values.reset,
  });
  const { info } = devnet;
  console.log(`devnet ${info.chainId} up in ${info.dir} (devnet.json), control API ${info.hub.controlUrl}`);
  for (const n of info.nodes)
    console.log(
      `  ${n.name.padEnd(10)} ${n.role.padEnd(9)} rpc ${n.rpcUrl}  p2p ${n.p2pAddress}${n.signerLaddr ? `  signer ${n.signerLaddr}` : ''}`,
    );
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    devnet.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

async function control(command: string, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      dir: { type: 'string' },
      'control-url': { type: 'string' },
      denom: { type: 'string' },
      amount: { type: 'string' },
      title: { type: 'string' },
      summary: { type: 'string' },
      'voting-period-ms': { type: 'string' },
      proposer: { type: 'string' },
      address: { type: 'string' },
      'from-height': { type: 'string' },
      signal: { type: 'string' },
      connections: { type: 'string' },
      'duration-ms': { type: 'string' },
      'upgrade-name': { type: 'string' },
      'upgrade-height': { type: 'string' },
      'upgrade-info': { type: 'string' },
      cosmovisor: { type: 'boolean' },
    },
  });
  const dir = values.dir ?? process.env.DEVNET_DIR;
  const base = values['control-url'] ?? (dir ? readDevnetInfo(dir).hub.controlUrl : undefined);
  if (!base) fail(`devnet ${command}: pass --dir DIR (or DEVNET_DIR) or --control-url URL`);
  const [first, second] = positionals;
  const need = (v: string | undefined, what: string) => v ?? fail(`devnet ${command}: ${what} is required`);
  let method = 'GET';
  let path: string;
  let body: unknown;
  switch (command) {
    case 'status':
    case 'nodes':
    case 'evidence':
    case 'validators':
      path = `/${command}`;
      break;
    case 'signatures': {
      const q = new URLSearchParams();
      if (values.address) q.set('address', values.address);
      if (values['from-height']) q.set('fromHeight', values['from-height']);
      path = `/signatures?${q}`;
      break;
    }
    case 'fund':
      [method, path, body] = [
        'POST',
        '/fund',
        { address: need(first, '<address>'), amount: need(second, '<amount>'), denom: values.denom },
      ];
      break;
    case 'account':
      [method, path, body] = [
        'POST',
        '/accounts',
        { name: first, amount: values.amount, denom: values.denom },
      ];
      break;
    case 'propose':
      [method, path, body] = [
        'POST',
        '/proposals',
        {
          title: need(values.title, '--title'),
          summary: need(values.summary, '--summary'),
          votingPeriodMs: int(values['voting-period-ms'], 'voting-period-ms'),
          proposer: values.proposer,
          upgrade: values['upgrade-name']
            ? {
                name: values['upgrade-name'],
                height: int(need(values['upgrade-height'], '--upgrade-height'), 'upgrade-height'),
                info: values['upgrade-info'],
              }
            : undefined,
        },
      ];
      break;
    case 'partition':
    case 'heal':
      [method, path, body] = ['POST', `/nodes/${encodeURIComponent(need(first, '<node>'))}/${command}`, {}];
      break;
    case 'start':
      [method, path, body] = [
        'POST',
        `/nodes/${encodeURIComponent(need(first, '<node>'))}/start`,
        { cosmovisor: !!values.cosmovisor },
      ];
      break;
    case 'background':
      if (!first) path = '/background';
      else if (first === 'vote')
        [method, path, body] = ['POST', '/background/vote', { policy: need(second, '<policy>') }];
      else [method, path, body] = ['POST', `/background/${first}`, { count: int(second, 'count') }];
      break;
    case 'add-sentry':
      [method, path, body] = ['POST', '/sentries', { name: first }];
      break;
    case 'kill':
      [method, path, body] = [
        'POST',
        `/nodes/${encodeURIComponent(need(first, '<node>'))}/kill`,
        { signal: values.signal },
      ];
      break;
    case 'flood':
      [method, path, body] = [
        'POST',
        `/nodes/${encodeURIComponent(need(first, '<node>'))}/flood`,
        {
          connections: int(need(values.connections, '--connections'), 'connections'),
          durationMs: int(values['duration-ms'], 'duration-ms'),
        },
      ];
      break;
    case 'block-time':
      [method, path, body] = ['POST', '/block-time', { blockTimeMs: int(need(first, '<ms>'), 'ms') }];
      break;
    default:
      fail(USAGE);
  }
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) fail(`devnet ${command}: ${res.status} ${text}`);
  console.log(JSON.stringify(JSON.parse(text), null, 2));
}

/** A node home's daemon: `start` (the default) runs it, `version` prints its binary's version. */
async function node(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { home: { type: 'string' }, binary: { type: 'string' } },
  });
  const sub = positionals[0] ?? 'start';
  if (sub !== 'start' && sub !== 'version') fail(`devnet node: unknown command "${sub}" (start or version)`);
  const binary = values.binary
    ? readBinary(values.binary)
    : values.home
      ? currentBinary(values.home)
      : GENESIS_BINARY;
  if (sub === 'version') {
    console.log(binary.version);
    return;
  }
  if (!values.home) fail('devnet node: --home DIR is required');
  const { runNode } = await import('./node.js');
  return runNode(values.home, binary);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  if (command === 'up') return up(args);
  // The hub alone: the chain and control API, nodes started separately with `devnet node`.
  if (command === 'hub') return up([...args, '--no-start-nodes']);
  if (command === 'node') return node(args);
  if (command === 'cosmovisor') {
    if (args[0] !== 'run') fail('devnet cosmovisor: only `run <daemon args>` is supported');
    const { runCosmovisor } = await import('./cosmovisor.js');
    return runCosmovisor(args.slice(1));
  }
  if (command === 'stage-upgrade') {
    const { values } = parseArgs({
      args,
      options: { home: { type: 'string' }, name: { type: 'string' }, 'app-version': { type: 'string' } },
    });
    if (!values.home || !values.name) fail('devnet stage-upgrade: --home DIR and --name NAME are required');
    console.log(stageUpgrade(values.home, values.name, values['app-version']));
    return;
  }
  if (!command || command === 'help' || command === '--help') {
    console.log(USAGE);
    return;
  }
  return control(command, args);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`Error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
