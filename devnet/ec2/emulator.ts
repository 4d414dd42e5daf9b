// A loopback EC2 endpoint: the Query API for the actions Beam uses, EC2's XML and error format,
// autoscaling-style replacement of terminated group members, each instance's metadata service
// (IMDSv2 identity documents, imds.ts), and a fault-injection control surface.
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as z from 'zod';
import { ACCOUNT_ID, ACTIONS } from './actions.js';
import { Ec2Fault } from './faults.js';
import { IMDS_PREFIX, InstanceMetadata } from './imds.js';
import { type Address, Ec2Account, type Instance, type InstanceSpec } from './model.js';
import { parseForm } from './query.js';
import { errorXml, successXml } from './xml.js';

export type { Address, Instance, InstanceSpec, InstanceState } from './model.js';
export { GROUP_TAG } from './model.js';

export interface Ec2EmulatorOptions {
  /** Loopback address to bind (default 127.0.0.1). */
  host?: string;
  /** Port to listen on (default 0: one from the OS). */
  port?: number;
  /** Elastic IPs the account may hold (default 5, EC2's default quota). */
  addressLimit?: number;
  /** The region it plays, named in identity documents and availability zones (default us-east-1). */
  region?: string;
  /** Delay before an autoscaling group replaces a terminated member (default 0). */
  replacementDelayMs?: number;
  /** Called when an instance starts shutting down; it becomes `terminated` once this settles. */
  onTerminate?: (instance: Instance) => void | Promise<void>;
  /** Called for a group's replacement instance (state `pending`); it becomes `running` once this settles. */
  onReplacementLaunched?: (instance: Instance, replaced: Instance) => void | Promise<void>;
}

export interface RequestRecord {
  action: string;
  /** The form parameters as sent, without Action and Version. */
  params: Record<string, string>;
  status: number;
  errorCode: string | undefined;
  at: Date;
}

export interface FailOptions {
  message?: string;
  /** Apply the action, then answer with the error: a response lost after EC2 did the work. */
  afterApply?: boolean;
}

export interface HookFailure {
  hook: 'onTerminate' | 'onReplacementLaunched';
  instanceId: string;
  error: string;
}

export interface Ec2Emulator {
  /** Endpoint for `new EC2Client({ endpoint })`. */
  url: string;
  region: string;
  accountId: string;
  /**
   * PEM of the certificate that verifies this emulation's identity document signatures: what the
   * commander is configured with in place of AWS's certificate for the region.
   */
  identityCertificate: string;
  /** The instance's metadata service, as a pilot's `imds_url` (AWS: http://169.254.169.254). */
  imdsUrl(instanceId: string): string;
  stop(): Promise<void>;
  addInstance(spec?: InstanceSpec): Instance;
  instance(instanceId: string): Instance;
  instances(): Instance[];
  addresses(): Address[];
  /** Sets tags on an instance or address, as CreateTags would (e.g. a launcher naming a replacement). */
  tagResource(resourceId: string, tags: Record<string, string>): void;
  /** Gives an instance the private address of the machine it stands for (e.g. a devnet node's host). */
  setPrivateIp(instanceId: string, privateIp: string): Instance;
  requests(): RequestRecord[];
  clearRequests(): void;
  /** The next `count` calls of `action` fail with EC2 error `code` (HTTP status as EC2 uses for it). */
  failNext(action: string, code: string, count?: number, options?: FailOptions): void;
  /** Answer `action` with UnauthorizedOperation (403) until set back to false. */
  setPermissionDenied(action: string, denied?: boolean): void;
  /** Resolves when no termination or replacement is in progress. */
  idle(): Promise<void>;
  hookFailures(): HookFailure[];
}

interface PendingFault {
  code: string;
  remaining: number;
  options: FailOptions;
}

const failSchema = z.object({
  action: z.string().min(1),
  code: z.string().min(1),
  count: z.number().int().positive().optional(),
  message: z.string().optional(),
  afterApply: z.boolean().optional(),
});
const denySchema = z.object({ action: z.string().min(1), denied: z.boolean().optional() });
const instanceSpecSchema = z.object({
  name: z.string().optional(),
  group: z.string().optional(),
  tags: z.record(z.string(), z.string()).optional(),
  privateIp: z.string().optional(),
  autoPublicIp: z.boolean().optional(),
  state: z.enum(['pending', 'running']).optional(),
});

const MAX_BODY_BYTES = 1 << 20;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Ec2Fault('InvalidParameterValue', 'Request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

export async function startEc2Emulator(opts: Ec2EmulatorOptions = {}): Promise<Ec2Emulator> {
  const account = new Ec2Account(opts.addressLimit ?? 5);
  const region = opts.region ?? 'us-east-1';
  const metadata = new InstanceMetadata({ accountId: ACCOUNT_ID, region }, (id) =>
    account.instances().find((instance) => instance.instanceId === id),
  );
  const faults = new Map<string, PendingFault[]>();
  const denied = new Set<string>();
  const log: RequestRecord[] = [];
  const hookFailures: HookFailure[] = [];
  const inFlight = new Set<Promise<void>>();
  /** Replacement delays under way: stopping resolves them early so nothing waits forever. */
  const timers = new Map<NodeJS.Timeout, () => void>();
  let stopped = false;

  async function runHook(hook: HookFailure['hook'], instanceId: string, call: () => void | Promise<void>) {
    try {
      await call();
    } catch (error) {
      hookFailures.push({ hook, instanceId, error: error instanceof Error ? error.message : String(error) });
    }
  }

  function track(task: Promise<void>): void {
    inFlight.add(task);
    void task.finally(() => inFlight.delete(task));
  }

  async function replace(old: Instance): Promise<void> {
    if (stopped) return;
    const fresh = account.launchReplacement(old);
    await runHook('onReplacementLaunched', fresh.instanceId, () => opts.onReplacementLaunched?.(fresh, old));
    if (account.instance(fresh.instanceId).state === 'pending') account.setState(fresh.instanceId, 'running');
  }

  async function shutDown(instance: Instance): Promise<void> {
    await runHook('onTerminate', instance.instanceId, () => opts.onTerminate?.(instance));
    const terminated = account.setState(instance.instanceId, 'terminated');
    if (terminated.group === undefined || stopped) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, opts.replacementDelayMs ?? 0);
      timers.set(timer, resolve);
    });
    await replace(terminated);
  }

  function takeFault(action: string): PendingFault | undefined {
    const queue = faults.get(action);
    const fault = queue?.[0];
    if (!queue || !fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) queue.shift();
    return fault;
  }

  /** Runs one Query API call; returns the HTTP status and XML body. */
  function runAction(action: string, params: Map<string, string>, requestId: string) {
    const handler = ACTIONS[action];
    if (!handler)
      throw new Ec2Fault('InvalidAction', `The action ${action} is not valid for this web service.`);
    if (denied.has(action)) {
      throw new Ec2Fault(
        'UnauthorizedOperation',
        `You are not authorized to perform this operation. User: arn:aws:iam::123456789012:user/devnet ` +
          `is not authorized to perform: ec2:${action}`,
      );
    }
    const fault = takeFault(action);
    const injected = fault && new Ec2Fault(fault.code, fault.options.message ?? `Injected ${fault.code}`);
    if (injected && !fault.options.afterApply) throw injected;
    const fields = handler(params, {
      account,
      region,
      shuttingDown: (instances) => {
        for (const instance of instances) track(shutDown(instance));
      },
    });
    if (injected) throw injected;
    return successXml(action, requestId, fields);
  }

  async function handleQuery(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    let action = '';
    let params = new Map<string, string>();
    let status = 200;
    let errorCode: string | undefined;
    let body: string;
    try {
      params = parseForm(await readBody(req));
      action = params.get('Action') ?? '';
      params.delete('Action');
      params.delete('Version');
      if (!req.headers.authorization?.startsWith('AWS4-HMAC-SHA256 ')) {
        throw new Ec2Fault('AuthFailure', 'AWS was not able to validate the provided access credentials');
      }
      body = runAction(action, params, requestId);
    } catch (error) {
      const fault =
        error instanceof Ec2Fault ? error : new Ec2Fault('InternalError', 'An internal error has occurred');
      status = fault.status;
      errorCode = fault.code;
      body = errorXml(fault.code, fault.message, requestId);
    }
    log.push({ action, params: Object.fromEntries(params), status, errorCode, at: new Date() });
    // EC2 repeats the request id in this header, which the SDK reads into `$metadata.requestId`.
    send(res, status, 'text/xml;charset=UTF-8', body, { 'x-amzn-requestid': requestId });
  }

  async function handleControl(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const json = (status: number, value: unknown) =>
      send(res, status, 'application/json', JSON.stringify(value));
    try {
      if (req.method === 'GET' && path === '/_emulator/state') {
        return json(200, {
          instances: account.instances(),
          addresses: account.addresses(),
          requests: log,
          hookFailures,
        });
      }
      if (req.method !== 'POST') return json(405, { error: `${req.method} ${path} is not supported` });
      const input: unknown = JSON.parse((await readBody(req)) || '{}');
      if (path === '/_emulator/fail') {
        const { action, code, count, ...options } = failSchema.parse(input);
        emulator.failNext(action, code, count, options);
        return json(200, { ok: true });
      }
      if (path === '/_emulator/deny') {
        const { action, denied: value } = denySchema.parse(input);
        emulator.setPermissionDenied(action, value);
        return json(200, { ok: true });
      }
      if (path === '/_emulator/instances')
        return json(200, emulator.addInstance(instanceSpecSchema.parse(input)));
      return json(404, { error: `no control endpoint ${path}` });
    } catch (error) {
      const message =
        error instanceof z.ZodError
          ? error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ')
          : error instanceof Error
            ? error.message
            : String(error);
      return json(400, { error: message });
    }
  }

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://emulator').pathname;
    const handled = path.startsWith('/_emulator/')
      ? handleControl(req, res, path)
      : path.startsWith(IMDS_PREFIX)
        ? Promise.resolve(metadata.handle(req, res, path))
        : req.method === 'POST'
          ? handleQuery(req, res)
          : Promise.resolve(send(res, 405, 'text/plain', 'EC2 Query API: POST form-encoded requests'));
    handled.catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;

  const url = `http://${address}:${port}`;
  const emulator: Ec2Emulator = {
    url,
    region,
    accountId: ACCOUNT_ID,
    identityCertificate: metadata.certificate,
    imdsUrl: (instanceId) => `${url}${IMDS_PREFIX}${instanceId}`,
    async stop() {
      stopped = true;
      for (const [timer, resolve] of timers) {
        clearTimeout(timer);
        resolve();
      }
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    addInstance: (spec = {}) => account.addInstance(spec),
    instance: (instanceId) => account.instance(instanceId),
    instances: () => account.instances(),
    addresses: () => account.addresses(),
    tagResource: (resourceId, tags) =>
      account.createTags(
        [resourceId],
        Object.entries(tags).map(([key, value]) => ({ key, value })),
      ),
    setPrivateIp: (instanceId, privateIp) => account.setPrivateIp(instanceId, privateIp),
    requests: () => [...log],
    clearRequests: () => {
      log.length = 0;
    },
    failNext(action, code, count = 1, options = {}) {
      faults.set(action, [...(faults.get(action) ?? []), { code, remaining: count, options }]);
    },
    setPermissionDenied(action, value = true) {
      if (value) denied.add(action);
      else denied.delete(action);
    },
    async idle() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
    hookFailures: () => [...hookFailures],
  };
  return emulator;
}
