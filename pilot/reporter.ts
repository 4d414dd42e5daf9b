import { request } from 'undici';
import {
  EnrollReply,
  type EnrollRequest,
  parseOrThrow,
  type Report,
  ReportReply,
  signedHeaders,
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
  return JSON.parse(text) as unknown;
}

/** Sends a signed report; returns the validated reply. */
export async function sendReport(
  baseUrl: string,
  secret: string,
  report: Report,
  timeoutMs: number,
  now = Date.now(),
): Promise<ReportReply> {
  const body = JSON.stringify(report);
  const reply = await postJson(
    endpoint(baseUrl, REPORT_PATH),
    body,
    signedHeaders(report.nodeId, secret, now, body),
    timeoutMs,
  );
  return parseOrThrow(ReportReply, reply, 'report reply');
}

export async function sendEnroll(
  baseUrl: string,
  req: EnrollRequest,
  timeoutMs: number,
): Promise<EnrollReply> {
  const reply = await postJson(endpoint(baseUrl, ENROLL_PATH), JSON.stringify(req), {}, timeoutMs);
  return parseOrThrow(EnrollReply, reply, 'enroll reply');
}

/** Jittered exponential backoff: full delay doubles per failure up to `max`, then a random 50-100% of it. */
export function backoffDelay(failures: number, base: number, max: number, random = Math.random): number {
  const full = Math.min(max, base * 2 ** Math.max(0, failures - 1));
  return Math.round(full * (0.5 + random() / 2));
}
