// The self-hosted commander's key-encryption key: 32 random bytes (64 hex characters) in a file only
// its user can read. It wraps each node secret's data key with AES-256-GCM.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { type DataKeys, decrypt, encrypt } from './box.js';

const KEY_HEX = /^[0-9a-f]{64}$/;

export class FileKeys implements DataKeys {
  readonly kind = 'file';
  /** Names the key without revealing it: a sealed item says which key file it needs. */
  readonly keyId: string;

  constructor(private readonly kek: Buffer) {
    if (kek.length !== 32) throw new Error('a secrets key is 32 bytes');
    this.keyId = `sha256:${createHash('sha256').update(kek).digest('hex').slice(0, 16)}`;
  }

  /** A key that exists in this process only (deps built by hand: tests, the bench). */
  static ephemeral(): FileKeys {
    return new FileKeys(randomBytes(32));
  }

  /** Writes a new random key to `file` (mode 0600) unless it exists: the self-hosted default. */
  static createFile(file: string): void {
    try {
      writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }

  /** Reads the key file; refuses one that others can read, or that holds anything but 64 hex characters. */
  static fromFile(file: string): FileKeys {
    let text: string;
    let mode: number;
    try {
      text = readFileSync(file, 'utf8');
      mode = statSync(file).mode;
    } catch {
      throw new Error(
        `secrets.keyFile ${file} cannot be read: restore it (node secrets sealed with it open with no other key), or point secrets.keyFile at it`,
      );
    }
    if ((mode & 0o077) !== 0) {
      throw new Error(
        `secrets.keyFile ${file} has mode ${(mode & 0o777).toString(8)}: run chmod 600 ${file}`,
      );
    }
    const hex = text.trim();
    if (!KEY_HEX.test(hex)) {
      throw new Error(
        `secrets.keyFile ${file} must hold 64 lowercase hex characters (32 random bytes), e.g. from openssl rand -hex 32`,
      );
    }
    return new FileKeys(Buffer.from(hex, 'hex'));
  }

  async generate(context: string) {
    const key = randomBytes(32);
    const { iv, data } = encrypt(this.kek, key, context);
    return { key, wrapped: Buffer.concat([iv, data]).toString('base64'), keyId: this.keyId };
  }

  async unwrap(wrapped: string, keyId: string, context: string): Promise<Buffer> {
    if (keyId !== this.keyId) {
      throw new Error(
        `a node secret was sealed with key ${keyId}; secrets.keyFile holds ${this.keyId}: restore the key file it was sealed with`,
      );
    }
    const bytes = Buffer.from(wrapped, 'base64');
    return decrypt(this.kek, bytes.subarray(0, 12), bytes.subarray(12), context);
  }
}
