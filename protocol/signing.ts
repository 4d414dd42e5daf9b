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

/**
 * What a report reply's MAC covers besides its timestamp: the signature of the request it answers
 * (a reply is good for that request only, never replayed to another) and the reply's raw body. The
 * label keeps a reply's MAC from ever passing as a request's.
 */
const replyMacInput = (requestSignature: string, rawBody: string) => `reply.${requestSignature}.${rawBody}`;

/**
 * The two headers the commander sends with a report reply: `HEADER_TIMESTAMP` and
 * `HEADER_SIGNATURE` = `HMAC-SHA256(nodeSecret, timestamp + ".reply." + requestSignature + "." + rawBody)`.
 */
export function replyHeaders(
  secretHex: string,
  timestampMs: number,
  requestSignature: string,
  rawBody: string,
): Record<string, string> {
  return {
    [HEADER_TIMESTAMP]: String(timestampMs),
    [HEADER_SIGNATURE]: signBody(secretHex, timestampMs, replyMacInput(requestSignature, rawBody)),
  };
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/** Checks a report reply's headers against the request it answers (see `replyHeaders`), at the pilot. */
export function verifyReply(
  secretHex: string,
  timestampHeader: string | undefined,
  signatureHeader: string | undefined,
  requestSignature: string,
  rawBody: string,
  nowMs: number,
): SignatureCheck {
  return verifySignature(
    secretHex,
    timestampHeader,
    signatureHeader,
    replyMacInput(requestSignature, rawBody),
    nowMs,
    SIGNATURE_WINDOW_MS,
    'pilot time',
  );
}

export type HeaderCheck =
  | { ok: true; timestamp: number }
  | { ok: false; problem: 'malformed' | 'stale'; reason: string };

/**
 * What can be checked without the secret: both headers well formed, the timestamp within the window
 * around `nowMs`. The commander refuses a request failing it before it reads anything.
 */
export function checkSignatureHeaders(
  timestampHeader: string | undefined,
  signatureHeader: string | undefined,
  nowMs: number,
  windowMs = SIGNATURE_WINDOW_MS,
  clock = 'commander time',
): HeaderCheck {
  if (!timestampHeader || !/^\d{1,16}$/.test(timestampHeader)) {
    return {
      ok: false,
      problem: 'malformed',
      reason: `missing or malformed ${HEADER_TIMESTAMP} header (milliseconds since epoch)`,
    };
  }
  if (!signatureHeader || !/^[0-9a-f]{64}$/.test(signatureHeader)) {
    return {
      ok: false,
      problem: 'malformed',
      reason: `missing or malformed ${HEADER_SIGNATURE} header (64 hex characters)`,
    };
  }
  const timestamp = Number(timestampHeader);
  if (Math.abs(nowMs - timestamp) > windowMs) {
    return {
      ok: false,
      problem: 'stale',
      reason: `stale timestamp: more than ${windowMs / 1000} s from ${clock}`,
    };
  }
  return { ok: true, timestamp };
}

/** Checks a signature in constant time and the timestamp against the window around `nowMs`. */
export function verifySignature(
  secretHex: string,
  timestampHeader: string | undefined,
  signatureHeader: string | undefined,
  rawBody: string,
  nowMs: number,
  windowMs = SIGNATURE_WINDOW_MS,
  clock = 'commander time',
): SignatureCheck {
  const headers = checkSignatureHeaders(timestampHeader, signatureHeader, nowMs, windowMs, clock);
  if (!headers.ok) return { ok: false, reason: headers.reason };
  const expected = Buffer.from(signBody(secretHex, headers.timestamp, rawBody), 'hex');
  const given = Buffer.from(signatureHeader as string, 'hex');
  if (!timingSafeEqual(expected, given)) return { ok: false, reason: 'signature does not match' };
  return { ok: true };
}
