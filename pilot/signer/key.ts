/**
 * The validator's ed25519 consensus key, loaded from a CometBFT priv_validator_key.json. The seed
 * becomes a KeyObject once (not one per signature); no error or log line carries key material.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { CometKey } from '../custody.js';
import { secretFileProblems } from '../fsx.js';

/** DER header of a PKCS#8 ed25519 private key; the 32-byte seed follows. */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** Anything that signs consensus messages: the validator key, or a test double. */
export interface ConsensusSigner {
  readonly pubKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

/** CometBFT's address of an ed25519 key: the first 20 bytes of sha256(pubkey), uppercase hex. */
export function consensusAddress(pubKey: Uint8Array): string {
  return createHash('sha256').update(pubKey).digest().subarray(0, 20).toString('hex').toUpperCase();
}

export class ValidatorKey implements ConsensusSigner {
  readonly pubKey: Uint8Array;
  readonly address: string;

  private constructor(private readonly privateKey: KeyObject) {
    const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
    this.pubKey = Uint8Array.from(spki.subarray(spki.length - 32));
    this.address = consensusAddress(this.pubKey);
  }

  /** Reads the key file; refuses one readable by others or that is not an ed25519 CometBFT key. */
  static async load(file: string): Promise<ValidatorKey> {
    const problems = await secretFileProblems(file, 'validator key file');
    if (problems.length > 0) throw new Error(problems.join('; '));
    let raw: unknown;
    try {
      raw = JSON.parse(await fs.readFile(file, 'utf8'));
    } catch {
      throw new Error(`validator key file ${file} is not JSON: copy the real priv_validator_key.json there`);
    }
    const parsed = CometKey.safeParse(raw);
    if (!parsed.success)
      throw new Error(
        `validator key file ${file} is not a priv_validator_key.json (address, pub_key, priv_key): copy the real key there`,
      );
    return ValidatorKey.fromCometKey(parsed.data, file);
  }

  /** The key in a parsed priv_validator_key.json; `source` names it in errors. */
  static fromCometKey(key: CometKey, source = 'validator key'): ValidatorKey {
    if (key.priv_key.type !== 'tendermint/PrivKeyEd25519')
      throw new Error(
        `${source}: priv_key.type is ${key.priv_key.type}: the pilot signs with ed25519 keys (tendermint/PrivKeyEd25519) only`,
      );
    const value = Buffer.from(key.priv_key.value, 'base64');
    if (value.length !== 64)
      throw new Error(`${source}: priv_key.value must be base64 of 64 bytes (seed ‖ public key)`);
    const der = Buffer.concat([PKCS8_ED25519_PREFIX, value.subarray(0, 32)]);
    const validatorKey = new ValidatorKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
    const pub = Buffer.from(validatorKey.pubKey);
    const consistent = pub.equals(value.subarray(32)) && pub.toString('base64') === key.pub_key.value;
    // Zero the copies made here: the KeyObject is the key from now on.
    der.fill(0);
    value.fill(0);
    if (!consistent)
      throw new Error(`${source}: the public key does not match the private key: the file is corrupt`);
    return validatorKey;
  }

  sign(message: Uint8Array): Uint8Array {
    return Uint8Array.from(sign(null, message, this.privateKey));
  }
}
