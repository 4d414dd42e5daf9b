import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import dynalite from 'dynalite';
import { createDynamoClient } from '../adapters/store/client.js';
import { ensureTable } from '../adapters/store/table.js';
import { listen } from './http-adapter.js';

export interface OpenDynamo {
  endpoint: string;
  close(): Promise<void>;
}

/** Where a running embedded dynalite says who holds it: its files are locked while it runs. */
const ownerFile = (stateDir: string) => join(resolve(stateDir), 'dynamodb.json');

function answers(endpoint: string): Promise<boolean> {
  const { hostname, port } = new URL(endpoint);
  return new Promise((done) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

/** The endpoint of the embedded dynalite a running `serve` holds for `stateDir`, or null. */
export async function runningDynamo(stateDir: string): Promise<{ endpoint: string; pid: number } | null> {
  let owner: { endpoint: string; pid: number };
  try {
    owner = JSON.parse(readFileSync(ownerFile(stateDir), 'utf8'));
  } catch {
    return null;
  }
  return (await answers(owner.endpoint)) ? owner : null;
}

/**
 * The self-hosted commander's DynamoDB with its table: the given endpoint, or an embedded dynalite
 * keeping its data in `<stateDir>/dynamodb`. One process holds the embedded one; others reach it
 * through `runningDynamo`.
 */
export async function openDynamo(
  stateDir: string,
  endpoint: string | undefined,
  tableName: string,
): Promise<OpenDynamo> {
  let db: Server | undefined;
  let url = endpoint;
  if (!url) {
    const owner = await runningDynamo(stateDir);
    if (owner) {
      throw new Error(
        `${resolve(stateDir)} is in use by process ${owner.pid} (its DynamoDB answers at ${owner.endpoint}): stop it first, or give this one another --state-dir`,
      );
    }
    const dir = resolve(stateDir, 'dynamodb');
    mkdirSync(dir, { recursive: true });
    db = dynalite({ path: dir, createTableMs: 0 });
    url = `http://127.0.0.1:${(await listen(db, '127.0.0.1', 0)).port}`;
    writeFileSync(ownerFile(stateDir), JSON.stringify({ endpoint: url, pid: process.pid }), { mode: 0o600 });
  }
  const close = async () => {
    if (!db) return;
    rmSync(ownerFile(stateDir), { force: true });
    await new Promise<void>((r) => db.close(() => r()));
  };
  try {
    await ensureTable(createDynamoClient({ endpoint: url }), tableName);
  } catch (error) {
    await close();
    throw error;
  }
  return { endpoint: url, close };
}
