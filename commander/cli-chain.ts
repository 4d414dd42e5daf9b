/** `beam-commander chain add|list`: the chain registry facts in the commander's table. */
import { readFile } from 'node:fs/promises';
import * as z from 'zod';
import { type ChainFacts, parseChainRegistry } from '../protocol/chain-registry.js';
import { describeZodError } from '../protocol/index.js';
import { createDocClient, createDynamoClient } from './adapters/store/client.js';
import { Store } from './adapters/store/store.js';
import { listChains, putChain } from './app/chain-registry.js';
import { openDynamo, runningDynamo } from './server/dynamo.js';

export type Print = (line: string) => void;

export interface StoreFlags {
  config?: string;
  stateDir?: string;
  dynamodbEndpoint?: string;
  table?: string;
  /** The deployed (Lambda) commander's table in AWS, with the usual AWS credentials and region. */
  aws?: boolean;
}

/** Where the table is, as `serve` would find it: flags over the config file over the defaults. */
const StoreLocation = z.object({
  stateDir: z.string().min(1).default('.beam/commander'),
  tableName: z
    .string()
    .regex(/^[a-zA-Z0-9_.-]{3,255}$/, 'use the table name, 3-255 of [a-zA-Z0-9_.-]')
    .default('beam'),
  dynamodbEndpoint: z.url('use the DynamoDB endpoint URL, e.g. http://127.0.0.1:8000').optional(),
});

/**
 * The commander's table: in AWS (`--aws`, table from --table or BEAM_TABLE_NAME), at an endpoint, or
 * the embedded one of the state dir, through the running `serve` that holds it if there is one.
 */
async function openStore(
  flags: StoreFlags,
  env: Record<string, string | undefined>,
): Promise<{ store: Store; close(): Promise<void> }> {
  if (flags.aws) {
    const tableName = flags.table ?? env.BEAM_TABLE_NAME;
    if (!tableName)
      throw new Error('--aws needs the table: --table NAME or BEAM_TABLE_NAME (the stack output)');
    return {
      store: new Store(createDocClient(createDynamoClient({})), { tableName }),
      close: async () => {},
    };
  }
  // The serve module (cron, chat) loads only when there is a config file to read.
  const file = flags.config ? (await import('./server/serve.js')).readConfigFile(flags.config) : {};
  const fileSettings = (file.settings ?? {}) as Record<string, unknown>;
  const parsed = StoreLocation.safeParse({
    stateDir: flags.stateDir ?? file.stateDir,
    tableName: flags.table ?? fileSettings.tableName,
    dynamodbEndpoint: flags.dynamodbEndpoint ?? fileSettings.dynamodbEndpoint,
  });
  if (!parsed.success) throw new Error(`where is the table? ${describeZodError(parsed.error)}`);
  const { stateDir, tableName, dynamodbEndpoint } = parsed.data;
  const endpoint = dynamodbEndpoint ?? (await runningDynamo(stateDir))?.endpoint;
  const db = await openDynamo(stateDir, endpoint, tableName);
  return {
    store: new Store(createDocClient(createDynamoClient({ endpoint: db.endpoint })), { tableName }),
    close: db.close,
  };
}

function describeChain(c: ChainFacts): string {
  const explorers = c.explorers.map((e) => e.kind ?? e.url).filter(Boolean);
  return [
    `${c.chainId} (${c.prettyName ?? c.chainName}): prefix ${c.bech32Prefix}, staking ${c.stakingDenom}, gas price ${c.gasPrice}`,
    `  fee tokens: ${c.feeTokens.map((t) => t.denom).join(', ')}`,
    `  explorers: ${explorers.join(', ') || 'none'}`,
    `  binaries: ${c.recommendedVersion ?? 'no version'}, ${Object.keys(c.binaries).join(', ') || 'none listed'}`,
  ].join('\n');
}

export async function chainCommand(
  verb: string | undefined,
  file: string | undefined,
  flags: StoreFlags,
  print: Print,
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  if (verb === 'add' && !file) throw new Error('chain add <chain.json>: name the chain registry file');
  if (verb !== 'add' && verb !== 'list')
    throw new Error('use beam-commander chain add <chain.json> or chain list');
  // Read and check the file before touching the table.
  const facts = file ? parseChainRegistry(await readFile(file, 'utf8'), file) : null;
  const { store, close } = await openStore(flags, env);
  try {
    if (facts) {
      const done = await putChain(store, facts, Date.now());
      print(`${done} ${describeChain(facts)}`);
      print(
        'a running beam-commander serve takes it at its next start; Lambda functions at their next cold start',
      );
    } else {
      const chains = await listChains(store);
      for (const chain of chains) print(describeChain(chain));
      if (chains.length === 0) print('no chains: add one with beam-commander chain add <chain.json>');
    }
  } finally {
    await close();
  }
  return 0;
}
