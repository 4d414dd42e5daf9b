// Data keys from AWS KMS (the Lambda commander): GenerateDataKey for a new secret, Decrypt to open
// one. The encryption context binds each data key to its node; KMS refuses it under any other, and
// CloudTrail records every use with it.
import type * as Kms from '@aws-sdk/client-kms';
import { requireSdk } from '../require-sdk.js';
import type { DataKeys } from './box.js';

// The Lambda pilot API opens node secrets on its first report: `require` keeps its cold start short.
const { DecryptCommand, GenerateDataKeyCommand, KMSClient } = requireSdk('@aws-sdk/client-kms') as typeof Kms;

export interface KmsKeysOptions {
  /** The key-encryption key: a KMS key id, ARN or alias. */
  keyId: string;
  /** Endpoint override (tests). */
  endpoint?: string;
  region?: string;
}

export class KmsKeys implements DataKeys {
  readonly kind = 'kms';
  private readonly client: Kms.KMSClient;

  constructor(private readonly options: KmsKeysOptions) {
    this.client = new KMSClient({
      ...(options.region ? { region: options.region } : {}),
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    });
  }

  async generate(context: string) {
    const out = await this.client.send(
      new GenerateDataKeyCommand({
        KeyId: this.options.keyId,
        KeySpec: 'AES_256',
        EncryptionContext: { purpose: context },
      }),
    );
    if (!out.Plaintext || !out.CiphertextBlob) throw new Error('kms:GenerateDataKey answered without a key');
    return {
      key: Buffer.from(out.Plaintext),
      wrapped: Buffer.from(out.CiphertextBlob).toString('base64'),
      keyId: out.KeyId ?? this.options.keyId,
    };
  }

  async unwrap(wrapped: string, keyId: string, context: string): Promise<Buffer> {
    const out = await this.client.send(
      new DecryptCommand({
        CiphertextBlob: Buffer.from(wrapped, 'base64'),
        KeyId: keyId,
        EncryptionContext: { purpose: context },
      }),
    );
    if (!out.Plaintext) throw new Error('kms:Decrypt answered without the key');
    return Buffer.from(out.Plaintext);
  }
}
