/**
 * devnet CLI.
 *   up --dir DIR [--validators 1] [--standby 1] [--sentries 3] [--block-time-ms 1000] [--port-base 26656]
 *      [--control-port 0] [--key-mode file|signer] [--no-start-nodes] [--no-grants] [--reset]
 *   hub --dir DIR [up's options]                       (= up --no-start-nodes)
 *   node --home DIR
 *   status | nodes | evidence | validators            (control API; --dir DIR or --control-url URL)
 *   fund <address> <amount> [--denom D] | account [name] [--amount N] | block-time <ms>
 *   propose --title T --summary S [--voting-period-ms N] [--proposer ADDR]
 *   partition <node> | heal <node> | signatures [--address HEX] [--from-height N]
 *   kill <node> [--signal SIGKILL] | start <node> | flood <node> --connections N [--duration-ms N]
 *   add-sentry [name]
 */
import { parseArgs } from 'node:util';
import { readDevnetInfo } from './info.js';

const USAGE = `usage: devnet <up|hub|node|status|nodes|fund|account|propose|partition|heal|kill|start|flood|add-sentry|block-time|evidence|validators|signatures> [options]
  devnet up --dir DIR [--validators 1] [--standby 1] [--sentries 3] [--block-time-ms 1000] [--port-base 26656] [--control-port 0] [--key-mode file|signer] [--no-start-nodes] [--no-grants] [--reset]
  devnet hub --dir DIR [same options as up]   (up --no-start-nodes)
  devnet node --home DIR
  devnet fund <address> <amount> [--denom stake] --dir DIR   (controls take --dir DIR or --control-url URL)
  devnet account [name] [--amount N]
  devnet propose --title T --summary S [--voting-period-ms N] [--proposer ADDR]
  devnet partition <node> | heal <node> | block-time <ms>
  devnet kill <node> [--signal SIGKILL|SIGTERM] | start <node> | flood <node> --connections N [--duration-ms 10000]
  devnet add-sentry [name]
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

async function up(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      dir: { type: 'string' },
      validators: { type: 'string' },
      standby: { type: 'string' },
      sentries: { type: 'string' },
      'block-time-ms': { type: 'string' },
      'port-base': { type: 'string' },
      'control-port': { type: 'string' },
      'key-mode': { type: 'string' },
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
    blockTimeMs: int(values['block-time-ms'], 'block-time-ms'),
    portBase: int(values['port-base'], 'port-base'),
    controlPort: int(values['control-port'], 'control-port'),
    keyMode,
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
        },
      ];
      break;
    case 'partition':
    case 'heal':
    case 'start':
      [method, path, body] = ['POST', `/nodes/${encodeURIComponent(need(first, '<node>'))}/${command}`, {}];
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

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  if (command === 'up') return up(args);
  // The hub alone: the chain and control API, nodes started separately with `devnet node`.
  if (command === 'hub') return up([...args, '--no-start-nodes']);
  if (command === 'node') {
    const { values } = parseArgs({ args, options: { home: { type: 'string' } } });
    if (!values.home) fail('devnet node: --home DIR is required');
    const { runNode } = await import('./node.js');
    return runNode(values.home);
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
