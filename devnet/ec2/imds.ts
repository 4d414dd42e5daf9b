// The instance metadata service (IMDSv2) of each emulated instance, as far as Beam reads it: a
// session token (PUT /latest/api/token), then the instance identity document and its base64
// RSA-SHA256 signature, signed with the emulation's own key. Its certificate stands in for AWS's
// published certificate of the region; the commander of a devnet or local stack is given it.
import { type KeyObject, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Instance } from './model.js';
import { selfSignedCertificate } from './x509.js';

/** How each instance's metadata is reached here: `<emulator url>/imds/<instance id>` + the IMDS path. */
export const IMDS_PREFIX = '/imds/';
const TOKEN_TTL_HEADER = 'x-aws-ec2-metadata-token-ttl-seconds';
const TOKEN_HEADER = 'x-aws-ec2-metadata-token';
const MAX_TOKEN_TTL_S = 21_600;

export interface IdentityAccount {
  accountId: string;
  region: string;
}

/** EC2's identity document fields; `pendingTime` is when the instance last started, to the second. */
export function identityDocument(instance: Instance, account: IdentityAccount): string {
  const document = {
    accountId: account.accountId,
    architecture: 'x86_64',
    availabilityZone: `${account.region}a`,
    billingProducts: null,
    devpayProductCodes: null,
    marketplaceProductCodes: null,
    imageId: 'ami-0devnet0sentry000',
    instanceId: instance.instanceId,
    instanceType: 't3.medium',
    kernelId: null,
    pendingTime: `${instance.launchTime.toISOString().slice(0, 19)}Z`,
    privateIp: instance.privateIp,
    ramdiskId: null,
    region: account.region,
    version: '2017-09-30',
  };
  return JSON.stringify(document, null, 2);
}

export class InstanceMetadata {
  /** PEM of the certificate that verifies every signature this service hands out. */
  readonly certificate: string;
  private readonly privateKey: KeyObject;
  private readonly tokens = new Map<string, { instanceId: string; expiresAt: number }>();

  constructor(
    private readonly account: IdentityAccount,
    /** The instance, or undefined when it does not exist or its machine is gone. */
    private readonly lookup: (instanceId: string) => Instance | undefined,
  ) {
    const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKey = keys.privateKey;
    this.certificate = selfSignedCertificate(keys, {
      organization: 'Beam devnet EC2 emulation',
      commonName: `instance identity ${account.region}`,
    });
  }

  /** The base64 signature IMDS serves for a document: RSA PKCS#1 v1.5 over SHA-256 of its bytes. */
  signature(document: string): string {
    const base64 = sign('sha256', Buffer.from(document, 'utf8'), this.privateKey).toString('base64');
    return (base64.match(/.{1,64}/g) ?? []).join('\n');
  }

  /** Answers `<prefix><instance id>/latest/...`; `path` is the request path. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): void {
    const [status, body] = this.answer(req, path);
    res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  private answer(req: IncomingMessage, path: string): [number, string] {
    const rest = path.slice(IMDS_PREFIX.length);
    const slash = rest.indexOf('/');
    const instanceId = slash > 0 ? rest.slice(0, slash) : rest;
    const resource = slash > 0 ? rest.slice(slash) : '/';
    const instance = this.lookup(instanceId);
    // A terminated machine answers nothing; neither does an address that is no instance.
    if (!instance || instance.state === 'terminated' || instance.state === 'shutting-down')
      return [404, 'Not Found'];

    if (resource === '/latest/api/token') {
      if (req.method !== 'PUT') return [405, 'Method Not Allowed'];
      const ttl = Number(req.headers[TOKEN_TTL_HEADER]);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TOKEN_TTL_S) return [400, 'Bad Request'];
      for (const [old, { expiresAt }] of this.tokens) if (expiresAt < Date.now()) this.tokens.delete(old);
      const token = randomBytes(32).toString('base64url');
      this.tokens.set(token, { instanceId, expiresAt: Date.now() + ttl * 1000 });
      return [200, token];
    }
    if (req.method !== 'GET') return [405, 'Method Not Allowed'];
    // IMDSv2 only: no session token, or one of another instance or expired, is refused.
    const session = this.tokens.get(String(req.headers[TOKEN_HEADER] ?? ''));
    if (!session || session.instanceId !== instanceId || session.expiresAt < Date.now())
      return [401, 'Unauthorized'];
    const document = identityDocument(instance, this.account);
    if (resource === '/latest/dynamic/instance-identity/document') return [200, document];
    if (resource === '/latest/dynamic/instance-identity/signature') return [200, this.signature(document)];
    if (resource === '/latest/meta-data/instance-id') return [200, instanceId];
    return [404, 'Not Found'];
  }
}
