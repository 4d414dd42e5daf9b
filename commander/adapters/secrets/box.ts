// Node secrets at rest: envelope encryption. Each secret gets its own 256-bit data key (AES-256-GCM),
// and only that data key, wrapped by the key-encryption key (AWS KMS, or a local key file for the
// self-hosted commander), is stored next to the ciphertext. The node id is bound into both layers,
// so a sealed item copied onto another node's key opens nowhere.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** Where data keys come from and how they are wrapped for storage. */
export interface DataKeys {
  readonly kind: 'kms' | 'file';
  /** A fresh data key, and the same key wrapped for storage, bound to `context`. */
  generate(context: string): Promise<{ key: Buffer; wrapped: string; keyId: string }>;
  /** The data key back from its wrapped form; throws when the wrapping key or context differ. */
  unwrap(wrapped: string, keyId: string, context: string): Promise<Buffer>;
}

/** A node secret as the SECRET item holds it. */
export interface SealedSecret {
  v: 1;
  keys: 'kms' | 'file';
  /** The key-encryption key that wrapped `dataKey` (a KMS key ARN, or a key file's fingerprint). */
  keyId: string;
  dataKey: string;
  /** base64: 12-byte IV. */
  iv: string;
  /** base64: ciphertext followed by the 16-byte GCM tag. */
  data: string;
}

const TAG_BYTES = 16;
/** Opened secrets kept in memory, so a report costs no KMS call (a Lambda container lives minutes). */
const CACHE_LIMIT = 10_000;

const contextOf = (nodeId: string) => `beam node secret v1 ${nodeId}`;

/** AES-256-GCM with associated data; returns iv and ciphertext‖tag. */
export function encrypt(key: Buffer, plaintext: Buffer, aad: string): { iv: Buffer; data: Buffer } {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const data = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { iv, data };
}

/** Throws on any tampering, a wrong key or other associated data. */
export function decrypt(key: Buffer, iv: Buffer, data: Buffer, aad: string): Buffer {
  if (iv.length !== 12 || data.length < TAG_BYTES) throw new Error('malformed ciphertext');
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
  return Buffer.concat([decipher.update(data.subarray(0, data.length - TAG_BYTES)), decipher.final()]);
}

export class SecretBox {
  private readonly opened = new Map<string, string>();

  constructor(private readonly keys: DataKeys) {}

  async seal(nodeId: string, secret: string): Promise<SealedSecret> {
    const context = contextOf(nodeId);
    const { key, wrapped, keyId } = await this.keys.generate(context);
    try {
      const { iv, data } = encrypt(key, Buffer.from(secret, 'utf8'), context);
      return {
        v: 1,
        keys: this.keys.kind,
        keyId,
        dataKey: wrapped,
        iv: iv.toString('base64'),
        data: data.toString('base64'),
      };
    } finally {
      key.fill(0);
    }
  }

  async open(nodeId: string, sealed: SealedSecret): Promise<string> {
    const cacheKey = `${nodeId}\u0000${sealed.data}`;
    const cached = this.opened.get(cacheKey);
    if (cached !== undefined) return cached;
    if (sealed.keys !== this.keys.kind) {
      throw new Error(
        `the secret of ${nodeId} was sealed with ${sealed.keys} keys, this commander has ${this.keys.kind} keys: configure the secrets key it was sealed with`,
      );
    }
    const context = contextOf(nodeId);
    const key = await this.keys.unwrap(sealed.dataKey, sealed.keyId, context);
    let secret: string;
    try {
      secret = decrypt(
        key,
        Buffer.from(sealed.iv, 'base64'),
        Buffer.from(sealed.data, 'base64'),
        context,
      ).toString('utf8');
    } catch {
      throw new Error(
        `the sealed secret of ${nodeId} does not open: it was altered or belongs to another node`,
      );
    } finally {
      key.fill(0);
    }
    if (this.opened.size >= CACHE_LIMIT) this.opened.delete(this.opened.keys().next().value as string);
    this.opened.set(cacheKey, secret);
    return secret;
  }
}
