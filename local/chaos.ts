/**
 * `chaos` console commands: faults and chain events for the local stack. They act on the simulated
 * world (devnet, machines), never on Beam; what Beam does about them shows up in the chat.
 */
import * as z from 'zod';
import type { Stack } from './stack.js';

const NodeName = z.string().regex(/^[a-z0-9-]{1,64}$/, 'use a node name as `nodes` lists it, e.g. val-a');
const Whole = z.coerce.number().int('use a whole number').positive('use a number above 0');
const UpgradeName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'use an upgrade name such as v2');

export const ChaosCommand = z.discriminatedUnion('verb', [
  z.object({ verb: z.literal('kill'), node: NodeName }),
  z.object({ verb: z.literal('kill-daemon'), node: NodeName }),
  z.object({ verb: z.literal('hang'), node: NodeName }),
  z.object({ verb: z.literal('resume'), node: NodeName }),
  z.object({ verb: z.literal('partition'), node: NodeName }),
  z.object({ verb: z.literal('heal'), node: NodeName }),
  z.object({ verb: z.literal('start'), node: NodeName }),
  z.object({
    verb: z.literal('flood'),
    node: NodeName,
    connections: Whole.max(5000, 'use at most 5000 connections').default(200),
    seconds: Whole.max(600, 'use at most 600 seconds').default(30),
  }),
  z.object({
    verb: z.literal('propose'),
    title: z.string().min(1, 'give the proposal a title').max(140),
    votingSeconds: Whole.max(86_400).default(300),
  }),
  z.object({
    verb: z.literal('fund'),
    amount: z.string().regex(/^\d{1,30}$/, 'use a whole amount of base units, e.g. 5000000'),
  }),
  z.object({
    verb: z.literal('upgrade'),
    name: UpgradeName,
    blocks: Whole.min(20, 'use at least 20 blocks (the proposal must pass first)').max(100_000).default(60),
  }),
  z.object({ verb: z.literal('network-down'), count: Whole.max(20, 'there are 20 background validators') }),
  z.object({ verb: z.literal('network-up') }),
  z.object({ verb: z.literal('help') }),
]);
export type ChaosCommand = z.infer<typeof ChaosCommand>;

export const CHAOS_HELP = `chaos commands (the simulated world; Beam reacts in the chat):
  chaos kill <node>              the machine dies: SIGKILL of its pilot and daemon
  chaos start <node>             the machine comes back: its pilot starts again
  chaos kill-daemon <node>       only the daemon crashes (its pilot restarts it)
  chaos hang <node>              the daemon hangs (SIGSTOP); chaos resume <node> undoes it
  chaos partition <node>         the node is cut off from the network; chaos heal <node> undoes it
  chaos flood <sentry> [connections=200] [seconds=30]   a TCP connection flood on its p2p port
  chaos propose <title...>       a governance proposal (voting period 300 s)
  chaos fund <amount>            sends <amount> base units to the validator's account
  chaos upgrade <name> [blocks=60]   stages binary <name> on every node (cosmovisor/upgrades/<name>)
                                 and proposes a software upgrade at the height <blocks> from now
  chaos network-down <count>     <count> of the 20 background validators (4.75 % of the power each)
                                 go offline: 8 or more halt the chain; chaos network-up brings them back`;

/** Parses the words after `chaos`; an error names what is wrong and the usage. */
export function parseChaos(
  words: string[],
): { ok: true; command: ChaosCommand } | { ok: false; error: string } {
  const [verb, ...rest] = words;
  const fields: Record<string, unknown> = { verb: verb ?? 'help' };
  if (verb === 'propose') fields.title = rest.join(' ');
  else if (verb === 'fund') fields.amount = rest[0];
  else if (verb === 'upgrade') {
    fields.name = rest[0];
    if (rest[1] !== undefined) fields.blocks = rest[1];
  } else if (verb === 'network-down') fields.count = rest[0];
  else if (verb !== undefined && verb !== 'help' && verb !== 'network-up') {
    fields.node = rest[0];
    if (verb === 'flood') {
      if (rest[1] !== undefined) fields.connections = rest[1];
      if (rest[2] !== undefined) fields.seconds = rest[2];
    }
  }
  const parsed = ChaosCommand.safeParse(fields);
  if (parsed.success) return { ok: true, command: parsed.data };
  const issue = parsed.error.issues[0]!;
  const field = issue.path.join('.') || 'verb';
  const why = field === 'verb' ? `unknown chaos command "${verb}"` : `${field}: ${issue.message}`;
  return { ok: false, error: `${why}\n${CHAOS_HELP}` };
}

/** Short enough to pass well before the upgrade height at the stack's block time. */
const UPGRADE_VOTING_MS = 20_000;

async function control(stack: Stack, method: string, route: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${stack.devnet.info.hub.controlUrl}${route}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const reply = (await res.json()) as { error?: string };
  if (!res.ok) throw new Error(reply.error ?? `devnet control ${route}: HTTP ${res.status}`);
  return reply;
}

function pilotOf(stack: Stack, node: string) {
  const pilot = stack.pilots.get(node);
  if (!pilot) throw new Error(`no node ${node}; nodes: ${[...stack.pilots.keys()].join(', ')}`);
  return pilot;
}

/** Carries out one chaos command and says what happened, in one line. */
export async function runChaos(stack: Stack, command: ChaosCommand): Promise<string> {
  switch (command.verb) {
    case 'help':
      return CHAOS_HELP;
    case 'kill':
      await pilotOf(stack, command.node).crash();
      return `${command.node}: machine down (pilot and daemon killed)`;
    case 'start':
      pilotOf(stack, command.node);
      await stack.startPilot(command.node);
      return `${command.node}: machine up, pilot started`;
    case 'kill-daemon':
      if (!pilotOf(stack, command.node).signalDaemon('SIGKILL'))
        throw new Error(`${command.node}: its daemon is not running`);
      return `${command.node}: daemon killed`;
    case 'hang':
    case 'resume': {
      const signal = command.verb === 'hang' ? 'SIGSTOP' : 'SIGCONT';
      if (!pilotOf(stack, command.node).signalDaemon(signal))
        throw new Error(`${command.node}: its daemon is not running`);
      return `${command.node}: daemon ${command.verb === 'hang' ? 'hung (SIGSTOP)' : 'resumed (SIGCONT)'}`;
    }
    case 'partition':
    case 'heal':
      await control(stack, 'POST', `/nodes/${command.node}/${command.verb}`);
      return `${command.node}: ${command.verb === 'partition' ? 'partitioned from the network' : 'healed'}`;
    case 'flood': {
      const reply = (await control(stack, 'POST', `/nodes/${command.node}/flood`, {
        connections: command.connections,
        durationMs: command.seconds * 1000,
      })) as { opened: number };
      return `${command.node}: flooded with ${reply.opened} connections for ${command.seconds} s`;
    }
    case 'propose': {
      const reply = (await control(stack, 'POST', '/proposals', {
        title: command.title,
        summary: `${command.title} (submitted from the local stack)`,
        votingPeriodMs: command.votingSeconds * 1000,
      })) as { proposalId: string | number };
      return `proposal ${reply.proposalId} submitted: voting ends in ${command.votingSeconds} s`;
    }
    case 'fund': {
      const address = stack.devnet.info.validators[0]!.accountAddress;
      await control(stack, 'POST', '/fund', { address, amount: command.amount });
      return `sent ${command.amount}${stack.devnet.info.denom} to the validator account ${address}`;
    }
    case 'upgrade': {
      for (const node of stack.devnet.info.nodes) stack.devnet.stageUpgrade(node.name, command.name);
      const { height } = (await control(stack, 'GET', '/status')) as { height: number };
      const at = height + command.blocks;
      const reply = (await control(stack, 'POST', '/proposals', {
        title: `Software upgrade ${command.name}`,
        summary: `Upgrade to ${command.name} at height ${at} (submitted from the local stack)`,
        votingPeriodMs: UPGRADE_VOTING_MS,
        upgrade: { name: command.name, height: at },
      })) as { proposalId: string | number };
      return `binary ${command.name} staged on every node; proposal ${reply.proposalId} upgrades the chain at height ${at} (voting ends in ${UPGRADE_VOTING_MS / 1000} s)`;
    }
    case 'network-down':
    case 'network-up': {
      const down = command.verb === 'network-down';
      const reply = (await control(stack, 'POST', `/background/${down ? 'down' : 'up'}`, {
        ...(down ? { count: command.count } : {}),
      })) as { validators: unknown[] };
      return `${reply.validators.length} background validator(s) ${down ? 'offline' : 'back online'}`;
    }
  }
}
