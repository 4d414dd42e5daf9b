import { request } from 'undici';
import {
  EnrollReply,
  type EnrollRequest,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  parseOrThrow,
  type Report,
  ReportReplyEnvelope,
  signedHeaders,
  verifyReply,
} from '../protocol/index.js';

export const REPORT_PATH = '/v1/pilot/report';
export const ENROLL_PATH = '/v1/pilot/enroll';

/** Appends the API path, keeping any path prefix of the commander URL (e.g. a stage name). */
export const endpoint = (baseUrl: string, apiPath: string): string => baseUrl.replace(/\/+$/, '') + apiPath;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    body: string,
  ) {
    super(`commander answered ${status}: ${body.slice(0, 300)}`);
  }
}

/** A 2xx reply the pilot will not act on (unsigned, mis-signed, for another request): nothing of it applies. */
export class ReplyRefused extends Error {}

const header = (value: string | string[] | undefined) => (Array.isArray(value) ? undefined : value);

async function postJson(url: string, body: string, headers: Record<string, string>, timeoutMs: number) {
  const res = await request(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const text = await res.body.text();
  // 202: an enrollment pending approval is an answer, not a failure.
  if (res.statusCode < 200 || res.statusCode > 299) throw new HttpError(res.statusCode, text);
  return { text, headers: res.headers };
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${what} is not JSON`);
  }
}

/**
 * Sends a signed report; returns the reply's envelope once its signature proves the commander sent
 * it for this very request (see `replyHeaders`). Its actions are parsed one by one by the caller.
 */
export async function sendReport(
  baseUrl: string,
  secret: string,
  report: Report,
  timeoutMs: number,
  now = Date.now(),
): Promise<ReportReplyEnvelope> {
  const body = JSON.stringify(report);
  const signed = signedHeaders(report.nodeId, secret, now, body);
  const reply = await postJson(endpoint(baseUrl, REPORT_PATH), body, signed, timeoutMs);
  const check = verifyReply(
    secret,
    header(reply.headers[HEADER_TIMESTAMP]),
    header(reply.headers[HEADER_SIGNATURE]),
    signed[HEADER_SIGNATURE] as string,
    reply.text,
    Date.now(),
  );
  if (!check.ok) throw new ReplyRefused(`reply refused, nothing applied: ${check.reason}`);
  return parseOrThrow(ReportReplyEnvelope, parseJson(reply.text, 'report reply'), 'report reply');
}

/** Enrolls; the reply carries the node secret, so the URL is HTTPS or loopback (`commanderUrlProblem`). */
export async function sendEnroll(
  baseUrl: string,
  req: EnrollRequest,
  timeoutMs: number,
): Promise<EnrollReply> {
  const reply = await postJson(endpoint(baseUrl, ENROLL_PATH), JSON.stringify(req), {}, timeoutMs);
  return parseOrThrow(EnrollReply, parseJson(reply.text, 'enroll reply'), 'enroll reply');
}

/** Jittered exponential backoff: full delay doubles per failure up to `max`, then a random 50-100% of it. */
export function backoffDelay(failures: number, base: number, max: number, random = Math.random): number {
  const full = Math.min(max, base * 2 ** Math.max(0, failures - 1));
  return Math.round(full * (0.5 + random() / 2));
}
