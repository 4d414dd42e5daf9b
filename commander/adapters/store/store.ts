import { BatchGetCommand, GetCommand, PutCommand, QueryCommand, ScanCommand } from './sdk.js';
import type { Lease } from '../../../protocol/index.js';
import type { MessageRef } from '../../../bots/model.js';
import type { AlertRecord } from '../../alerting/alerts.js';
import type { NodeRecord } from '../../domain/registry.js';
import type { SealedSecret, SecretBox } from '../secrets/box.js';
import { type DocSender, isConditionFailure } from './client.js';

/**
 * Single-table layout (pk / sk):
 *   NODE / <nodeId>                 node record (registry, last report, queued actions, desired config)
 *   SECRET / <nodeId>               the node's HMAC secret, sealed (never listed with nodes)
 *   INSTANCE / <instanceId>         the node name a verified instance is bound to, for good
 *   CONFIG / enrollment-token       sha256 of the rotated fleet enrollment token (chat `token rotate`)
 *   LEASE#<chainId> / <validator>   signing lease
 *   FAILOVER / <chainId>#<validator>  failover state of one validator key (lease, facts, operation)
 *   ALERT / <key>                   alert (ttl once resolved)
 *   ALERTING / STATE, ALERTING / PIN  alerting's graces and digest totals; the pinned status message
 *   MSG / <subject>                 message refs of a chat subject, per destination (ttl)
 *   AUDIT / <time>#<random>         application audit entry (ttl)
 *   CHATAUDIT / <time>#<random>     chat command/click audit entry (ttl)
 *   TICK / TICK                     tick heartbeat
 *   GOVERNANCE / <chainId>          governance state of one chain (proposals, votes, auto-bond)
 *   CHAIN / <chainId>               a chain's registry facts (`beam-commander chain add`)
 *   INTERACTION / <id>, OPERATION / <id>, PROPOSAL#<chainId> / <id>: generic items (ttl optional)
 * Every item carries `type` and `version`; writes are single-item puts conditioned on `version`.
 */
export const KEYS = {
  node: (id: string) => ({ pk: 'NODE', sk: id }),
  secret: (id: string) => ({ pk: 'SECRET', sk: id }),
  instance: (instanceId: string) => ({ pk: 'INSTANCE', sk: instanceId }),
  enrollmentToken: () => ({ pk: 'CONFIG', sk: 'enrollment-token' }),
  lease: (chainId: string, validator: string) => ({ pk: `LEASE#${chainId}`, sk: validator }),
  failover: (chainId: string, validator: string) => ({ pk: 'FAILOVER', sk: `${chainId}#${validator}` }),
  alert: (key: string) => ({ pk: 'ALERT', sk: key }),
  alerting: () => ({ pk: 'ALERTING', sk: 'STATE' }),
  statusPin: () => ({ pk: 'ALERTING', sk: 'PIN' }),
  messageRefs: (subject: string) => ({ pk: 'MSG', sk: subject }),
  tick: () => ({ pk: 'TICK', sk: 'TICK' }),
  audit: (sk: string) => ({ pk: 'AUDIT', sk }),
  interaction: (id: string) => ({ pk: 'INTERACTION', sk: id }),
  operation: (id: string) => ({ pk: 'OPERATION', sk: id }),
  proposal: (chainId: string, id: string) => ({ pk: `PROPOSAL#${chainId}`, sk: id }),
  governance: (chainId: string) => ({ pk: 'GOVERNANCE', sk: chainId }),
  chain: (chainId: string) => ({ pk: 'CHAIN', sk: chainId }),
} as const;

export type Key = { pk: string; sk: string };

export interface Versioned<T> {
  value: T;
  version: number;
}

export interface AuditEntry {
  at: number;
  actor: string;
  action: string;
  target: string | null;
  outcome: 'ok' | 'denied' | 'failed';
  detail: string | null;
  /** How many events the entry stands for, when it samples many (refused anonymous requests). */
  count?: number;
}

export interface StoredMessageRefs {
  subject: string;
  refs: MessageRef[];
}

/** A conditional write lost against another writer: reload and decide again. */
export class VersionConflict extends Error {
  constructor(key: Key) {
    super(`concurrent change to ${key.pk}/${key.sk}`);
  }
}

const META = new Set(['pk', 'sk', 'type', 'version', 'ttl']);
const DAY_S = 86_400;

function strip<T>(item: Record<string, unknown>): Versioned<T> {
  const value: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) if (!META.has(k)) value[k] = v;
  return { value: value as T, version: Number(item.version ?? 0) };
}

export interface StoreOptions {
  tableName: string;
  /** The store's clock for TTL checks; tests inject a fake one. */
  now?: () => number;
  /** Seals node secrets at rest; a store without it cannot read or write them. */
  secrets?: SecretBox;
}

/** A SECRET item: sealed, or plaintext as written before secrets were sealed (migrated on read). */
interface SecretItem {
  nodeId: string;
  sealed?: SealedSecret;
  secret?: string;
}

/** The stored fleet enrollment token after a rotation: its hash only, never the token. */
export interface StoredEnrollmentToken {
  sha256: string;
  rotatedAt: number;
  rotatedBy: string;
}

export class Store {
  readonly tableName: string;
  private readonly now: () => number;
  private readonly box: SecretBox | undefined;

  constructor(
    private readonly db: DocSender,
    options: StoreOptions,
  ) {
    this.tableName = options.tableName;
    this.now = options.now ?? Date.now;
    this.box = options.secrets;
  }

  private secretBox(): SecretBox {
    if (!this.box)
      throw new Error('this store was opened without a secret box: node secrets are out of reach');
    return this.box;
  }

  /** dynalite never deletes expired items: a passed ttl reads as absent everywhere. */
  private live(item: Record<string, unknown> | undefined): item is Record<string, unknown> {
    if (!item) return false;
    return typeof item.ttl !== 'number' || item.ttl * 1000 > this.now();
  }

  async get<T>(key: Key): Promise<Versioned<T> | null> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    return this.live(out.Item) ? strip<T>(out.Item) : null;
  }

  /** Reads several items in one round trip; the result is in the order of `keys`. */
  async getMany(keys: Key[]): Promise<(Versioned<unknown> | null)[]> {
    let pending: Key[] = keys;
    const found = new Map<string, Record<string, unknown>>();
    for (let round = 0; pending.length > 0; round++) {
      if (round > 5) throw new Error('BatchGet kept returning unprocessed keys');
      const out = await this.db.send(
        new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } } }),
      );
      for (const item of out.Responses?.[this.tableName] ?? []) found.set(`${item.pk}\u0000${item.sk}`, item);
      pending = (out.UnprocessedKeys?.[this.tableName]?.Keys as Key[] | undefined) ?? [];
    }
    return keys.map((k) => {
      const item = found.get(`${k.pk}\u0000${k.sk}`);
      return this.live(item) ? strip(item) : null;
    });
  }

  async query<T>(
    pk: string,
    options: { limit?: number; newestFirst?: boolean } = {},
  ): Promise<Versioned<T>[]> {
    const items: Versioned<T>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': pk },
          ConsistentRead: true,
          ScanIndexForward: !options.newestFirst,
          ExclusiveStartKey: start,
          ...(options.limit ? { Limit: options.limit } : {}),
        }),
      );
      for (const item of out.Items ?? []) if (this.live(item)) items.push(strip<T>(item));
      start = out.LastEvaluatedKey;
    } while (start && !(options.limit && items.length >= options.limit));
    return options.limit ? items.slice(0, options.limit) : items;
  }

  /**
   * Writes an item only if it is still at `expected` (null: only if absent, or expired). Returns the
   * new version; throws VersionConflict when another writer got there first.
   */
  async put<T extends object>(
    key: Key,
    type: string,
    value: T,
    expected: number | null,
    ttlAt: number | null = null,
  ): Promise<number> {
    const version = (expected ?? 0) + 1;
    const item = {
      ...value,
      ...key,
      type,
      version,
      ...(ttlAt !== null ? { ttl: Math.ceil(ttlAt / 1000) } : {}),
    };
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ...(expected === null
            ? {
                ConditionExpression: 'attribute_not_exists(pk) OR (attribute_exists(#ttl) AND #ttl < :nowS)',
                ExpressionAttributeNames: { '#ttl': 'ttl' },
                ExpressionAttributeValues: { ':nowS': Math.floor(this.now() / 1000) },
              }
            : {
                ConditionExpression: '#v = :v',
                ExpressionAttributeNames: { '#v': 'version' },
                ExpressionAttributeValues: { ':v': expected },
              }),
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new VersionConflict(key);
      throw error;
    }
    return version;
  }

  /** Every item, raw: for tests that check a rejected request left the table as it was. */
  async scanAll(): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new ScanCommand({ TableName: this.tableName, ConsistentRead: true, ExclusiveStartKey: start }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  // Typed accessors ----------------------------------------------------------------------------

  getNode(id: string) {
    return this.get<NodeRecord>(KEYS.node(id));
  }
  async listNodes(): Promise<Versioned<NodeRecord>[]> {
    return this.query<NodeRecord>('NODE');
  }
  putNode(node: NodeRecord, expected: number | null) {
    return this.put(KEYS.node(node.id), 'node', node, expected);
  }
  /**
   * Takes a node out of the registry: its item (queued actions included) and its secret are written
   * already expired, which every read treats as absent and DynamoDB's TTL deletes later (the
   * commander's role has no DeleteItem). Its name can enroll again. Returns the node as it was.
   */
  async retireNode(nodeId: string): Promise<NodeRecord | null> {
    const expiredAt = this.now() - 1000;
    const node = await withRetry(async () => {
      const item = await this.getNode(nodeId);
      if (item) await this.put(KEYS.node(nodeId), 'node', item.value, item.version, expiredAt);
      return item?.value ?? null;
    });
    await withRetry(async () => {
      const secret = await this.get<SecretItem>(KEYS.secret(nodeId));
      if (secret) await this.put(KEYS.secret(nodeId), 'node-secret', secret.value, secret.version, expiredAt);
    });
    return node;
  }
  async getSecret(nodeId: string): Promise<string | null> {
    return this.openSecret(nodeId, await this.get(KEYS.secret(nodeId)));
  }
  /**
   * The plaintext of a SECRET item read by `get` or `getMany`. A plaintext item written before secrets
   * were sealed is sealed and written back first (once; a concurrent writer's version wins).
   */
  async openSecret(nodeId: string, item: Versioned<unknown> | null): Promise<string | null> {
    const value = item?.value as SecretItem | undefined;
    if (!item || !value) return null;
    if (value.sealed) return this.secretBox().open(nodeId, value.sealed);
    if (typeof value.secret !== 'string') return null;
    const sealed = await this.secretBox().seal(nodeId, value.secret);
    try {
      await this.put(KEYS.secret(nodeId), 'node-secret', { nodeId, sealed }, item.version);
    } catch (error) {
      if (!(error instanceof VersionConflict)) throw error;
    }
    return value.secret;
  }
  /** Written once per node at approval, sealed; a second approval keeps the first secret. */
  async putSecretOnce(nodeId: string, secret: string): Promise<void> {
    const sealed = await this.secretBox().seal(nodeId, secret);
    try {
      await this.put(KEYS.secret(nodeId), 'node-secret', { nodeId, sealed }, null);
    } catch (error) {
      if (!(error instanceof VersionConflict)) throw error;
    }
  }
  /**
   * Binds a verified instance to a node name for good (a conditional create): returns the name it is
   * bound to, which is `node` unless another name got there first.
   */
  async bindInstance(instanceId: string, node: string): Promise<string> {
    try {
      await this.put(
        KEYS.instance(instanceId),
        'instance-binding',
        { instanceId, node, boundAt: this.now() },
        null,
      );
      return node;
    } catch (error) {
      if (!(error instanceof VersionConflict)) throw error;
      const bound = await this.get<{ node: string }>(KEYS.instance(instanceId));
      return bound?.value.node ?? node;
    }
  }
  getEnrollmentToken() {
    return this.get<StoredEnrollmentToken>(KEYS.enrollmentToken());
  }
  putEnrollmentToken(token: StoredEnrollmentToken, expected: number | null) {
    return this.put(KEYS.enrollmentToken(), 'enrollment-token', token, expected);
  }
  listAlerts() {
    return this.query<AlertRecord>('ALERT');
  }
  getAlert(key: string) {
    return this.get<AlertRecord>(KEYS.alert(key));
  }
  /** Resolved alerts expire after a week; open ones stay. */
  putAlert(alert: AlertRecord, expected: number | null) {
    const ttl =
      alert.state === 'resolved' && alert.resolvedAt !== null ? alert.resolvedAt + 7 * DAY_S * 1000 : null;
    return this.put(KEYS.alert(alert.key), 'alert', alert, expected, ttl);
  }
  getMessageRefs(subject: string) {
    return this.get<StoredMessageRefs>(KEYS.messageRefs(subject));
  }
  putMessageRefs(refs: StoredMessageRefs, expected: number | null) {
    return this.put(
      KEYS.messageRefs(refs.subject),
      'message-refs',
      refs,
      expected,
      this.now() + 30 * DAY_S * 1000,
    );
  }
  getLease(chainId: string, validator: string) {
    return this.get<Lease>(KEYS.lease(chainId, validator));
  }
  putLease(lease: Lease, expected: number | null) {
    return this.put(KEYS.lease(lease.chainId, lease.validator), 'lease', lease, expected);
  }
  async getLastTickAt(): Promise<number | null> {
    return (await this.get<{ at: number }>(KEYS.tick()))?.value.at ?? null;
  }
  /** The tick's heartbeat; never moves backwards when two ticks overlap. */
  async recordTick(at: number): Promise<void> {
    await withRetry(async () => {
      const prior = await this.get<{ at: number }>(KEYS.tick());
      if (prior && prior.value.at >= at) return;
      await this.put(KEYS.tick(), 'tick', { at }, prior?.version ?? null);
    });
  }
  async appendAudit(entry: AuditEntry): Promise<void> {
    const sk = `${new Date(entry.at).toISOString()}#${Math.random().toString(36).slice(2, 10)}`;
    await this.putAudit(sk, entry, null);
  }
  /** An audit entry under a key of the caller's (which sorts by time), rewritten as it grows (`expected`). */
  putAudit(sk: string, entry: AuditEntry, expected: number | null): Promise<number> {
    return this.put(KEYS.audit(sk), 'audit', entry, expected, entry.at + 90 * DAY_S * 1000);
  }
  async listAudit(limit: number): Promise<AuditEntry[]> {
    return (await this.query<AuditEntry>('AUDIT', { limit, newestFirst: true })).map((v) => v.value);
  }
}

/** Load → decide → conditional write, reloading and deciding again when another writer won. */
export async function withRetry<T>(attempt: () => Promise<T>, attempts = 10): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof VersionConflict) || i >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * i));
    }
  }
}
