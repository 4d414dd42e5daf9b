// Verifies an EC2 instance identity document as AWS documents it (verify-iid, "base64-encoded
// signature"): an RSA PKCS#1 v1.5 signature over SHA-256 of the document's exact bytes, checked with
// AWS's RSA certificate of the region. Pure: no I/O, nothing trusted before the signature holds.
import { type KeyObject, X509Certificate, verify } from 'node:crypto';
import * as z from 'zod';
import type { InstanceIdentity } from '../../protocol/index.js';

/** How far a pendingTime may be ahead of the commander's clock (clock skew). */
const FUTURE_SKEW_MS = 5 * 60_000;

/** The fields Beam relies on; AWS adds others over time, so unknown keys are allowed. */
const Document = z.object({
  accountId: z.string().regex(/^\d{12}$/),
  instanceId: z.string().regex(/^i-[0-9a-f]{8,17}$/),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/),
  pendingTime: z.iso.datetime(),
  privateIp: z.string().max(64).nullable().optional(),
});

export interface VerifiedDocument {
  instanceId: string;
  accountId: string;
  region: string;
  /** When the instance last started (epoch ms). */
  pendingTime: number;
}

export interface DocumentTrust {
  /** PEM of AWS's RSA certificate for `region`. */
  certificate: string;
  accountId: string;
  /**
   * The fleet's region. Absent where no EC2 adapter names it (the AWS pilot API): the document's own
   * region is then checked by whoever asks EC2 about the instance (app/proven-sentries.ts).
   */
  region: string | undefined;
  maxAgeMs: number;
}

export type DocumentCheck = { ok: true; document: VerifiedDocument } | { ok: false; reason: string };

const keys = new Map<string, KeyObject>();

function publicKeyOf(pem: string): KeyObject {
  let key = keys.get(pem);
  if (!key) {
    key = new X509Certificate(pem).publicKey;
    keys.set(pem, key);
  }
  return key;
}

/** Base64 as IMDS writes it (line breaks aside): Node's decoder would skip stray characters silently. */
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function signatureHolds(identity: InstanceIdentity, pem: string): boolean {
  const text = identity.signature.replace(/\s+/g, '');
  if (!BASE64.test(text)) return false;
  const signature = Buffer.from(text, 'base64');
  try {
    return verify('sha256', Buffer.from(identity.document, 'utf8'), publicKeyOf(pem), signature);
  } catch {
    return false; // a signature of the wrong length, or not one at all
  }
}

const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;

/** Checks signature, account, region and freshness, in that order; every refusal names the fix. */
export function verifyIdentityDocument(
  identity: InstanceIdentity,
  trust: DocumentTrust,
  now: number,
): DocumentCheck {
  if (!signatureHolds(identity, trust.certificate)) {
    return {
      ok: false,
      reason: `the signature does not verify with the ${trust.region} certificate (identity.ec2.certificate): send the document and signature exactly as the instance metadata service returned them`,
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(identity.document);
  } catch {
    return { ok: false, reason: 'the signed document is not JSON' };
  }
  const parsed = Document.safeParse(json);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || 'document'))];
    return { ok: false, reason: `the signed document lacks a valid ${fields.join(', ')}` };
  }
  const document = parsed.data;
  if (document.accountId !== trust.accountId) {
    return {
      ok: false,
      reason: `the instance runs in AWS account ${document.accountId}, not the fleet's (${trust.accountId}, identity.ec2.accountId)`,
    };
  }
  if (trust.region !== undefined && document.region !== trust.region) {
    return {
      ok: false,
      reason: `the instance runs in ${document.region}; this fleet's sentries run in ${trust.region}`,
    };
  }
  const pendingTime = Date.parse(document.pendingTime);
  if (pendingTime > now + FUTURE_SKEW_MS) {
    return {
      ok: false,
      reason: `pendingTime ${document.pendingTime} is in the future: check the commander's clock`,
    };
  }
  if (now - pendingTime > trust.maxAgeMs) {
    return {
      ok: false,
      reason: `the instance started ${minutes(now - pendingTime)} ago (pendingTime ${document.pendingTime}), over identity.ec2.maxAgeMs (${minutes(trust.maxAgeMs)}): a document that old proves no fresh launch; stop and start the instance, or enroll it without identity for an admin to approve`,
    };
  }
  return {
    ok: true,
    document: {
      instanceId: document.instanceId,
      accountId: document.accountId,
      region: document.region,
      pendingTime,
    },
  };
}
