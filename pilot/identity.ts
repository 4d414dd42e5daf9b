// The EC2 instance identity document and its signature, read through IMDSv2 (a session token first:
// IMDSv1's plain GETs are what SSRF attacks reach, and the fleet's instances require v2). The pilot
// sends both unchanged: the signature covers the document's exact bytes, and only the commander,
// holding AWS's certificate, decides what they prove.
import { request } from 'undici';
import type { InstanceIdentity } from '../protocol/index.js';

/** Enough for one enrollment attempt; a token is never reused. */
const TOKEN_TTL_S = 60;
const MAX_BYTES = 4096;

async function imds(
  url: string,
  method: 'GET' | 'PUT',
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<string> {
  const res = await request(url, { method, headers, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const text = await res.body.text();
  if (res.statusCode !== 200) {
    throw new Error(
      `instance metadata ${method} ${new URL(url).pathname} answered ${res.statusCode}: node.identity = "ec2" needs IMDSv2 reachable at node.imds_url`,
    );
  }
  if (Buffer.byteLength(text) > MAX_BYTES)
    throw new Error(`instance metadata ${new URL(url).pathname} is too large`);
  return text;
}

/** The document, its base64 RSA-SHA256 signature, and the instance id it names. */
export async function fetchInstanceIdentity(
  imdsUrl: string,
  timeoutMs: number,
): Promise<InstanceIdentity & { instanceId: string | null }> {
  const base = imdsUrl.replace(/\/+$/, '');
  const token = await imds(
    `${base}/latest/api/token`,
    'PUT',
    { 'x-aws-ec2-metadata-token-ttl-seconds': String(TOKEN_TTL_S) },
    timeoutMs,
  );
  const auth = { 'x-aws-ec2-metadata-token': token };
  const document = await imds(`${base}/latest/dynamic/instance-identity/document`, 'GET', auth, timeoutMs);
  const signature = await imds(`${base}/latest/dynamic/instance-identity/signature`, 'GET', auth, timeoutMs);
  let instanceId: string | null = null;
  try {
    const parsed = JSON.parse(document) as { instanceId?: unknown };
    if (typeof parsed.instanceId === 'string') instanceId = parsed.instanceId;
  } catch {
    // The commander says what is wrong with the document; the pilot only names the instance.
  }
  return { document, signature: signature.trim(), instanceId };
}
