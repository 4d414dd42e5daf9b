import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDocClient, createDynamoClient } from '../../../commander/adapters/store/client.js';
import { Store } from '../../../commander/adapters/store/store.js';
import { ensureTable } from '../../../commander/adapters/store/table.js';
import { Ec2Cloud } from '../../../commander/adapters/ec2/ec2-cloud.js';
import {
  activeOps,
  decideAndSave,
  decideAndSettle,
  loadSentryState,
} from '../../../commander/sentry/index.js';
import { startEc2Emulator } from '../../../devnet/ec2/emulator.js';
import { startDynalite } from '../helpers.js';
import { T0, actionsOf, node, ofType, ok, sentryReport, settings } from './fixtures.js';

let dynamo: Awaited<ReturnType<typeof startDynalite>>;
let store: Store;
let table = 0;

beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.close();
});
beforeEach(async () => {
  const client = createDynamoClient({ endpoint: dynamo.endpoint });
  const tableName = `sentry-${++table}`;
  await ensureTable(client, tableName);
  store = new Store(createDocClient(client), { tableName, now: () => T0 });
});

const nodes = [
  ...['sentry-a', 'sentry-b', 'sentry-c', 'sentry-d'].map((id, i) => node(id, 'sentry', i + 1)),
  node('val-1', 'validator', 11),
];

describe('sentry defence state in the store', () => {
  it('persists the state, writes only on change, and starts with the registry wired', async () => {
    const input = { nodes, settings: settings() };
    const first = await decideAndSave(store, 'mainnet', { type: 'tick' }, T0, input);
    expect(ofType(first.effects, 'action')).toEqual([]); // existing sentries are not dialed again
    const created = await loadSentryState(store, 'mainnet');
    expect(created.version).toBe(1);
    expect(Object.keys(created.state.wired).sort()).toEqual(['sentry-a', 'sentry-b', 'sentry-c', 'sentry-d']);

    await decideAndSave(store, 'mainnet', { type: 'report', report: sentryReport('sentry-a', 2) }, T0, input);
    await decideAndSave(store, 'mainnet', { type: 'report', report: sentryReport('sentry-a', 2) }, T0, input);
    expect((await loadSentryState(store, 'mainnet')).version).toBe(2); // the replay changed nothing

    for (let seq = 3; seq < 6; seq++) {
      await decideAndSave(
        store,
        'mainnet',
        { type: 'report', report: sentryReport('sentry-a', seq, { flooded: true }) },
        T0,
        input,
      );
    }
    const stored = await loadSentryState(store, 'mainnet');
    expect(activeOps(stored.state)).toEqual([
      expect.objectContaining({ node: 'sentry-a', phase: 'stopping' }),
    ]);
  });

  it('keeps the fleet-wide cap under concurrent requests (conditional writes, decided again on conflict)', async () => {
    const input = { nodes, settings: settings({ minHealthySentries: 1, maxConcurrentRotations: 1 }) };
    await decideAndSave(store, 'mainnet', { type: 'tick' }, T0, input);
    const answers = await Promise.all(
      ['sentry-a', 'sentry-b', 'sentry-c', 'sentry-d'].map((id) =>
        decideAndSave(store, 'mainnet', { type: 'request-rotation', node: id, actor: 'slack:U1' }, T0, input),
      ),
    );
    expect(answers.filter((a) => a.answer?.accepted)).toHaveLength(1);
    expect(answers.filter((a) => !a.answer?.accepted).map((a) => a.answer?.summary)).toEqual(
      Array(3).fill('Not started: 1 rotation is under way, the maximum is 1'),
    );
    expect(activeOps((await loadSentryState(store, 'mainnet')).state)).toHaveLength(1);
  });
});

describe('decideAndSettle', () => {
  it('performs the cloud calls, saves every decision, and returns the effects to apply', async () => {
    const emulator = await startEc2Emulator();
    const cloud = new Ec2Cloud({
      region: 'us-east-1',
      endpoint: emulator.url,
      credentials: { accessKeyId: 'AKIDEVNET', secretAccessKey: 'devnet-secret' },
      maxAttempts: 1,
    });
    try {
      const tags = { 'beam:role': 'sentry', 'beam:managed': 'true', 'beam:fleet': 'mainnet' };
      const a = emulator.addInstance({ name: 'sentry-a', tags: { ...tags, 'beam:node': 'sentry-a' } });
      const d = emulator.addInstance({ name: 'sentry-d', tags: { ...tags, 'beam:node': 'sentry-d' } });
      const registry = nodes.map((n) =>
        n.id === 'sentry-a'
          ? { ...n, instanceId: a.instanceId }
          : n.id === 'sentry-d'
            ? { ...n, instanceId: d.instanceId }
            : n,
      );
      const input = { nodes: registry, settings: settings() };
      const now = () => T0;

      const rotation = await decideAndSettle(
        store,
        cloud,
        'mainnet',
        { type: 'request-rotation', node: 'sentry-a', actor: 'slack:U1' },
        now,
        input,
      );
      const opId = rotation.answer!.operationId!;
      expect(actionsOf(rotation.effects)).toEqual([
        { nodeId: 'sentry-a', type: 'stop-daemon', id: `${opId}.stop` },
      ]);
      const stopped = sentryReport('sentry-a', 2, {
        running: false,
        results: [ok(`${opId}.stop`, 'stop-daemon')],
      });
      const rotated = await decideAndSettle(
        store,
        cloud,
        'mainnet',
        { type: 'report', report: stopped },
        now,
        input,
      );
      expect(ofType(rotated.effects, 'cloud')).toEqual([]);
      const [address] = emulator.addresses();
      expect(address).toMatchObject({
        instanceId: a.instanceId,
        tags: expect.objectContaining({ 'beam:op': opId }),
      });
      expect(ofType(rotated.effects, 'public-address')[0]?.address).toBe(`${address!.publicIp}:26656`);
      expect(actionsOf(rotated.effects).map((x) => x.type)).toEqual(['apply-config', 'start-daemon']);
      expect((await loadSentryState(store, 'mainnet')).state.ops[opId]?.phase).toBe('starting');

      const replaced = await decideAndSettle(
        store,
        cloud,
        'mainnet',
        { type: 'request-replacement', node: 'sentry-d', actor: 'slack:U1' },
        now,
        input,
      );
      expect(ofType(replaced.effects, 'remove-node')).toEqual([{ type: 'remove-node', nodeId: 'sentry-d' }]);
      expect(['shutting-down', 'terminated']).toContain(emulator.instance(d.instanceId).state);
      await emulator.idle();
    } finally {
      cloud.close();
      await emulator.stop();
    }
  });
});
