/**
 * CometBFT key files and ed25519 signing with node:crypto. Formats match CometBFT's own JSON:
 * priv_validator_key.json, node_key.json (private key value = base64 of seed ‖ public key).
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
} from 'node:crypto';
import * as z from 'zod';

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface Ed25519Key {
  /** 32-byte seed. */
  seed: Uint8Array;
  /** 32-byte public key. */
  publicKey: Uint8Array;
}

export function generateEd25519(): Ed25519Key {
  const { privateKey } = generateKeyPairSync('ed25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  return keyFromSeed(der.subarray(der.length - 32));
}

export function keyFromSeed(seed: Uint8Array): Ed25519Key {
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return { seed: Uint8Array.from(seed), publicKey: Uint8Array.from(spki.subarray(spki.length - 32)) };
}

export function signEd25519(key: Ed25519Key, message: Uint8Array): Uint8Array {
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, key.seed]),
    format: 'der',
    type: 'pkcs8',
  });
  return Uint8Array.from(sign(null, message, privateKey));
}

export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    const key = createPublicKey({
      key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]),
      format: 'der',
      type: 'spki',
    });
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** CometBFT address of an ed25519 key: first 20 bytes of sha256(pubkey), uppercase hex. */
export function addressOf(publicKey: Uint8Array): string {
  return createHash('sha256').update(publicKey).digest().subarray(0, 20).toString('hex').toUpperCase();
}

/** A node id is the lowercase form of the node key's address. */
export function nodeIdOf(publicKey: Uint8Array): string {
  return addressOf(publicKey).toLowerCase();
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

const privKeyJson = z.object({
  type: z.literal('tendermint/PrivKeyEd25519'),
  value: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length === 64, 'must be base64 of 64 bytes (seed ‖ pubkey)'),
});

export const PrivValidatorKeyFile = z.object({
  address: z.string().regex(/^[0-9A-F]{40}$/, 'must be 40 uppercase hex characters'),
  pub_key: z.object({ type: z.literal('tendermint/PubKeyEd25519'), value: z.string() }),
  priv_key: privKeyJson,
});
export type PrivValidatorKeyFile = z.infer<typeof PrivValidatorKeyFile>;

export const NodeKeyFile = z.object({ priv_key: privKeyJson });

export function privValidatorKeyJson(key: Ed25519Key): PrivValidatorKeyFile {
  return {
    address: addressOf(key.publicKey),
    pub_key: { type: 'tendermint/PubKeyEd25519', value: b64(key.publicKey) },
    priv_key: { type: 'tendermint/PrivKeyEd25519', value: b64(Buffer.concat([key.seed, key.publicKey])) },
  };
}

export function nodeKeyJson(key: Ed25519Key): z.infer<typeof NodeKeyFile> {
  return { priv_key: privValidatorKeyJson(key).priv_key };
}

/** The key inside a parsed key file; checks that the stored public half matches the seed. */
export function keyFromPrivKeyValue(value: string): Ed25519Key {
  const raw = Buffer.from(value, 'base64');
  const key = keyFromSeed(raw.subarray(0, 32));
  if (!Buffer.from(key.publicKey).equals(raw.subarray(32))) {
    throw new Error('priv_key.value: public half does not match the seed');
  }
  return key;
}
