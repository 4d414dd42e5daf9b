/**
 * Node secrets at rest: envelope encryption with a data key per secret, wrapped by a local key file
 * (self-hosted) or AWS KMS (Lambda); plaintext items written before are sealed when first read.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../../commander/adapters/secrets/box.js';
import { FileKeys } from '../../commander/adapters/secrets/file-keys.js';
import { KmsKeys } from '../../commander/adapters/secrets/kms-keys.js';
import { KEYS } from '../../commander/adapters/store/store.js';
import { ServeConfig, serve } from '../../commander/server/serve.js';
import { sampleReport } from '../fixtures/report.js';
import {
  RecordingTransport,
  TOKEN,
  enroll,
  enrollApproved,
  enrollRequest,
  makeCommander,
  sendReport,
  startDynalite,
} from './helpers.js';

let dir: string;
let db: Awaited<ReturnType<typeof startDynalite>>;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'beam-secrets-'));
  db = await startDynalite();
});
afterAll(async () => {
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

const SECRET = 'ab'.repeat(32);

describe('the secret box', () => {
  it('seals each secret under its own data key, bound to its node, and opens only that', async () => {
    const box = new SecretBox(FileKeys.ephemeral());
    const sealed = await box.seal('val-a', SECRET);
    expect(JSON.stringify(sealed)).not.toContain(SECRET);
    expect(sealed).toMatchObject({
      v: 1,
      keys: 'file',
      keyId: expect.stringMatching(/^sha256:[0-9a-f]{16}$/),
    });
    expect(await box.open('val-a', sealed)).toBe(SECRET);
    const again = await box.seal('val-a', SECRET);
    expect(again.dataKey).not.toBe(sealed.dataKey);
    expect(again.data).not.toBe(sealed.data);

    // Copied onto another node's item, or altered by one bit, it opens nowhere.
    await expect(new SecretBox(FileKeys.ephemeral()).open('val-a', sealed)).rejects.toThrow(
      /sealed with key sha256:.* restore the key file it was sealed with/,
    );
    const keys = FileKeys.ephemeral();
    const box2 = new SecretBox(keys);
    const mine = await box2.seal('val-a', SECRET);
    await expect(box2.open('val-b', mine)).rejects.toThrow();
    const bytes = Buffer.from(mine.data, 'base64');
    bytes[0]! ^= 1;
    await expect(box2.open('val-a', { ...mine, data: bytes.toString('base64') })).rejects.toThrow(
      /does not open: it was altered or belongs to another node/,
    );
  });

  it('reads a key file only its user can read, holding 32 random bytes as hex', () => {
    const file = path.join(dir, 'node-secrets.key');
    FileKeys.createFile(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const first = FileKeys.fromFile(file);
    FileKeys.createFile(file); // never overwrites a key in use
    expect(FileKeys.fromFile(file).keyId).toBe(first.keyId);
    chmodSync(file, 0o644);
    expect(() => FileKeys.fromFile(file)).toThrow(/has mode 644: run chmod 600/);
    const bad = path.join(dir, 'bad.key');
    writeFileSync(bad, 'not hex', { mode: 0o600 });
    expect(() => FileKeys.fromFile(bad)).toThrow(/64 lowercase hex characters/);
    expect(() => FileKeys.fromFile(path.join(dir, 'missing.key'))).toThrow(/cannot be read: restore it/);
  });
});

/** A KMS stand-in speaking the JSON protocol the SDK uses: GenerateDataKey and Decrypt, encryption context enforced. */
async function fakeKms(): Promise<{ url: string; calls: string[]; close(): Promise<void> }> {
  const master = randomBytes(32);
  const calls: string[] = [];
  const server: Server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const input = JSON.parse(body) as Record<string, unknown>;
    const action = String(req.headers['x-amz-target']).split('.')[1]!;
    calls.push(action);
    const aad = Buffer.from(JSON.stringify(input.EncryptionContext ?? {}));
    const reply = (status: number, value: object) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(value));
    };
    if (action === 'GenerateDataKey') {
      const key = randomBytes(32);
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', master, iv).setAAD(aad);
      const blob = Buffer.concat([iv, cipher.update(key), cipher.final(), cipher.getAuthTag()]);
      return reply(200, {
        KeyId: 'arn:aws:kms:us-east-1:123456789012:key/beam',
        Plaintext: key.toString('base64'),
        CiphertextBlob: blob.toString('base64'),
      });
    }
    try {
      const blob = Buffer.from(String(input.CiphertextBlob), 'base64');
      const decipher = createDecipheriv('aes-256-gcm', master, blob.subarray(0, 12)).setAAD(aad);
      decipher.setAuthTag(blob.subarray(blob.length - 16));
      const key = Buffer.concat([decipher.update(blob.subarray(12, blob.length - 16)), decipher.final()]);
      return reply(200, { KeyId: input.KeyId, Plaintext: key.toString('base64') });
    } catch {
      return reply(400, {
        __type: 'InvalidCiphertextException',
        message: 'the encryption context does not match',
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('KMS data keys', () => {
  it('wraps data keys under the KMS key with the node in the encryption context, and opens each once', async () => {
    const kms = await fakeKms();
    process.env.AWS_ACCESS_KEY_ID ??= 'test';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
    try {
      const box = new SecretBox(new KmsKeys({ keyId: 'alias/beam', endpoint: kms.url, region: 'us-east-1' }));
      const sealed = await box.seal('sentry-1', SECRET);
      expect(sealed).toMatchObject({ keys: 'kms', keyId: 'arn:aws:kms:us-east-1:123456789012:key/beam' });
      expect(await box.open('sentry-1', sealed)).toBe(SECRET);
      expect(await box.open('sentry-1', sealed)).toBe(SECRET); // cached: no second Decrypt
      expect(kms.calls).toEqual(['GenerateDataKey', 'Decrypt']);
      // Under another node's name, KMS itself refuses the data key.
      const other = new SecretBox(
        new KmsKeys({ keyId: 'alias/beam', endpoint: kms.url, region: 'us-east-1' }),
      );
      await expect(other.open('sentry-2', sealed)).rejects.toThrow(/encryption context/);
      // A file-keyed commander says which kind of key it lacks.
      await expect(new SecretBox(FileKeys.ephemeral()).open('sentry-1', sealed)).rejects.toThrow(
        /sealed with kms keys, this commander has file keys/,
      );
    } finally {
      await kms.close();
    }
  });
});

describe('node secrets in the store', () => {
  it('are never stored in plaintext, and a plaintext item from before is sealed when first read', async () => {
    const c = await makeCommander(db.endpoint);
    const secret = await enrollApproved(c, enrollRequest());
    const table = JSON.stringify(await c.store.scanAll());
    expect(table).not.toContain(secret);
    expect((await c.store.get(KEYS.secret('val-a')))?.value).toMatchObject({
      nodeId: 'val-a',
      sealed: { v: 1 },
    });

    // val-b approved by an older commander: its secret item holds the plaintext.
    await enroll(c, enrollRequest({ name: 'val-b', claim: 'b'.repeat(64), cometNodeId: 'b'.repeat(40) }));
    const node = (await c.store.getNode('val-b'))!;
    await c.store.putNode({ ...node.value, status: 'approved', decidedBy: 'older commander' }, node.version);
    await c.store.put(KEYS.secret('val-b'), 'node-secret', { nodeId: 'val-b', secret: SECRET }, null);
    const report = sampleReport({ nodeId: 'val-b', seq: 1, sentAt: c.clock.now() });
    expect((await sendReport(c, SECRET, report)).status).toBe(200);
    const migrated = (await c.store.get(KEYS.secret('val-b')))!.value as Record<string, unknown>;
    expect(migrated.secret).toBeUndefined();
    expect(migrated.sealed).toMatchObject({ v: 1, keys: 'file' });
    expect(JSON.stringify(await c.store.scanAll())).not.toContain(SECRET);
    expect((await sendReport(c, SECRET, { ...report, seq: 2 })).status).toBe(200);
  });

  it('open again after the self-hosted commander restarts: its key file stays in the state folder', async () => {
    const stateDir = path.join(dir, 'serve');
    const config = ServeConfig.parse({
      listen: '127.0.0.1:0',
      stateDir,
      tick: '0 0 1 1 *',
      settings: { enrollmentToken: TOKEN },
    });
    const first = await serve(config, { transports: { console: new RecordingTransport() }, env: {} });
    try {
      await first.deps.store.putSecretOnce('val-a', SECRET);
    } finally {
      await first.close();
    }
    expect(statSync(path.join(stateDir, 'node-secrets.key')).mode & 0o777).toBe(0o600);
    const second = await serve(config, { transports: { console: new RecordingTransport() }, env: {} });
    try {
      expect(await second.deps.store.getSecret('val-a')).toBe(SECRET);
    } finally {
      await second.close();
    }
  });
});
