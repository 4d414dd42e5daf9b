import * as z from 'zod';
import type { DataKeys } from './box.js';
import { FileKeys } from './file-keys.js';
import { KmsKeys } from './kms-keys.js';

/**
 * The key that seals node secrets at rest (box.ts): a KMS key (Lambda: `BEAM_KMS_KEY_ID`) or a local
 * key file (self-hosted: `<stateDir>/node-secrets.key` unless set). Exactly one.
 */
export const SecretsSettings = z
  .strictObject({
    kmsKeyId: z.string().min(1).max(2048).optional(),
    /** KMS endpoint override (tests). */
    kmsEndpoint: z.url('use a URL such as http://127.0.0.1:4599').optional(),
    /** File of 64 hex characters, mode 0600. */
    keyFile: z.string().min(1).optional(),
  })
  .refine((s) => (s.kmsKeyId === undefined) !== (s.keyFile === undefined), {
    message: 'set exactly one of kmsKeyId (a KMS key) and keyFile (a local key file)',
    path: ['kmsKeyId'],
  });
export type SecretsSettings = z.infer<typeof SecretsSettings>;

export function dataKeysFor(settings: SecretsSettings): DataKeys {
  if (settings.kmsKeyId) {
    return new KmsKeys({
      keyId: settings.kmsKeyId,
      ...(settings.kmsEndpoint ? { endpoint: settings.kmsEndpoint } : {}),
    });
  }
  return FileKeys.fromFile(settings.keyFile as string);
}
