import { createHmac, timingSafeEqual } from 'node:crypto';

export const HEADER_NODE = 'x-beam-node';
export const HEADER_TIMESTAMP = 'x-beam-timestamp';
export const HEADER_SIGNATURE = 'x-beam-signature';

/** Requests older or newer than this are rejected as stale. */
export const SIGNATURE_WINDOW_MS = 5 * 60 * 1000;
/** Largest request body the commander reads. */
export const MAX_BODY_BYTES = 256 * 1024;

/** `HMAC-SHA256(secret, timestamp + "." + rawBody)`, hex. */
export function signBody(secretHex: string, timestampMs: number, rawBody: string): string {
  return createHmac('sha256', Buffer.from(secretHex, 'hex'))
    .update(`${timestampMs}.${rawBody}`)
    .digest('hex');
}

/** The three headers a pilot sends with a signed request. */
export function signedHeaders(
  nodeId: string,
  secretHex: string,
  timestampMs: number,
  rawBody: string,
): Record<string, string> {
  return {
    [HEADER_NODE]: nodeId,
    [HEADER_TIMESTAMP]: String(timestampMs),
    [HEADER_SIGNATURE]: signBody(secretHex, timestampMs, rawBody),
  };
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/** Checks a signature in constant time and the timestamp against the window around `nowMs`. */
export function verifySignature(
  secretHex: string,
  timestampHeader: string | undefined,
  signatureHeader: string | undefined,
  rawBody: string,
  nowMs: number,
  windowMs = SIGNATURE_WINDOW_MS,
): SignatureCheck {
  if (!timestampHeader || !/^\d{1,16}$/.test(timestampHeader)) {
    return {
      ok: false,
      reason: `missing or malformed ${HEADER_TIMESTAMP} header (milliseconds since epoch)`,
    };
  }
  if (!signatureHeader || !/^[0-9a-f]{64}$/.test(signatureHeader)) {
    return { ok: false, reason: `missing or malformed ${HEADER_SIGNATURE} header (64 hex characters)` };
  }
  const timestamp = Number(timestampHeader);
  if (Math.abs(nowMs - timestamp) > windowMs) {
    return { ok: false, reason: `stale timestamp: more than ${windowMs / 1000} s from commander time` };
  }
  const expected = Buffer.from(signBody(secretHex, timestamp, rawBody), 'hex');
  const given = Buffer.from(signatureHeader, 'hex');
  if (!timingSafeEqual(expected, given)) return { ok: false, reason: 'signature does not match' };
  return { ok: true };
}
