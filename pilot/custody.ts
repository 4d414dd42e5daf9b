import { createHash, generateKeyPairSync } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as z from 'zod';
import { exists, readJsonFile, secretFileProblems, writeFileAtomic } from './fsx.js';

/** priv_validator_key.json as CometBFT writes it. */
export const CometKey = z.object({
  address: z.string(),
  pub_key: z.object({ type: z.string(), value: z.string() }),
  priv_key: z.object({ type: z.string(), value: z.string() }),
});
export type CometKey = z.infer<typeof CometKey>;

/** A fresh ed25519 key in CometBFT's JSON format (address = first 20 bytes of sha256(pubkey)). */
export function generateCometKey(): CometKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d as string, 'base64url');
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
  return {
    address: createHash('sha256').update(pub).digest().subarray(0, 20).toString('hex').toUpperCase(),
    pub_key: { type: 'tendermint/PubKeyEd25519', value: pub.toString('base64') },
    priv_key: { type: 'tendermint/PrivKeyEd25519', value: Buffer.concat([seed, pub]).toString('base64') },
  };
}

/** CometBFT's last-sign state: the height is a string, round and step numbers. */
export const SignState = z.looseObject({
  height: z.string().regex(/^\d+$/),
  round: z.number().int(),
  step: z.number().int(),
});
export type SignState = z.infer<typeof SignState>;

/** Raises the sign state to at least `height`; never lowers it (a lower height could let the key double-sign). */
export function raisedSignState(current: SignState | undefined, height: number): SignState {
  if (current && BigInt(current.height) >= BigInt(height)) return current;
  return { height: String(height), round: 0, step: 0 };
}

export interface CustodyPaths {
  home: string;
  /** The real validator key, outside the home. */
  keyFile: string;
  stateDir: string;
}

export class Custody {
  readonly homeKey: string;
  readonly signStateFile: string;
  readonly ownKeyFile: string;

  constructor(readonly paths: CustodyPaths) {
    this.homeKey = path.join(paths.home, 'config', 'priv_validator_key.json');
    this.signStateFile = path.join(paths.home, 'data', 'priv_validator_state.json');
    this.ownKeyFile = path.join(paths.stateDir, 'own_priv_validator_key.json');
  }

  private async readKey(file: string): Promise<CometKey | undefined> {
    const raw = await readJsonFile(file);
    if (raw === undefined) return undefined;
    const parsed = CometKey.safeParse(raw);
    if (!parsed.success) throw new Error(`${file} is not a CometBFT priv_validator_key.json`);
    return parsed.data;
  }

  async realKey(): Promise<CometKey> {
    const problems = await secretFileProblems(this.paths.keyFile, 'validator key file');
    if (problems.length > 0) throw new Error(problems.join('; '));
    const key = await this.readKey(this.paths.keyFile);
    if (!key) throw new Error(`validator key file ${this.paths.keyFile} does not exist`);
    return key;
  }

  /** Whether the daemon home holds the real validator key. */
  async holdsValidatorKey(): Promise<boolean> {
    const [home, real] = await Promise.all([this.readKey(this.homeKey), this.readKey(this.paths.keyFile)]);
    return !!home && !!real && home.priv_key.value === real.priv_key.value;
  }

  async readSignState(): Promise<SignState | undefined> {
    const raw = await readJsonFile(this.signStateFile);
    return raw === undefined ? undefined : SignState.parse(raw);
  }

  /**
   * Installs the real key and raises the sign state. The daemon must be stopped. Keeps a copy of the
   * node's own key first, so demotion can restore it.
   */
  async installValidatorKey(minHeight: number): Promise<{ signHeight: number }> {
    const real = await this.realKey();
    const home = await this.readKey(this.homeKey);
    if (home && home.priv_key.value !== real.priv_key.value) {
      await writeFileAtomic(this.ownKeyFile, JSON.stringify(home, null, 2), 0o600);
    }
    await fs.mkdir(path.dirname(this.signStateFile), { recursive: true });
    const current = await this.readSignState();
    const state = raisedSignState(current, minHeight);
    if (state !== current) {
      await writeFileAtomic(this.signStateFile, JSON.stringify(state, null, 2), 0o600);
    }
    // The key file's exact bytes: the installed key is the real key, byte for byte.
    await writeFileAtomic(this.homeKey, await fs.readFile(this.paths.keyFile, 'utf8'), 0o600);
    return { signHeight: Number(state.height) };
  }

  /** Puts the node's own non-validator key back (generating one if none was saved). The daemon must be stopped. */
  async restoreOwnKey(): Promise<{ generated: boolean }> {
    let own = await this.readKey(this.ownKeyFile);
    const generated = !own;
    if (!own) {
      own = generateCometKey();
      await writeFileAtomic(this.ownKeyFile, JSON.stringify(own, null, 2), 0o600);
    }
    await writeFileAtomic(this.homeKey, JSON.stringify(own, null, 2), 0o600);
    return { generated };
  }

  async keyFileReady(): Promise<string[]> {
    if (!(await exists(this.paths.keyFile))) return [];
    return secretFileProblems(this.paths.keyFile, 'validator key file');
  }
}
