/**
 * The http Lambda bundle exactly as CDK builds it (infra/bundle.ts), its size, and its cold start in
 * fresh Node processes: module import, first invocation (deps built), first store-touching request.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { createDynamoClient } from '../commander/adapters/store/client.js';
import { ensureTable } from '../commander/adapters/store/table.js';
import { bundleCommander, LAMBDA_BUNDLE, REPO_ROOT } from '../infra/bundle.js';
import { round } from './stats.js';

export interface BundleFigure {
  http: { bytes: number; gzipBytes: number };
  tick: { bytes: number; gzipBytes: number };
  coldStart: {
    runs: number;
    processToReadyMs: number;
    importMs: number;
    firstInvokeMs: number;
    firstStoreRequestMs: number;
  };
  settings: Record<string, unknown>;
}

const PROBE = `
const t0 = performance.now();
const m = await import(process.env.BUNDLE);
const t1 = performance.now();
const ev = (method, p, body) => ({ version: '2.0', routeKey: '$default', rawPath: p, rawQueryString: '',
  headers: { 'content-type': 'application/json' }, ...(body ? { body } : {}), isBase64Encoded: false,
  requestContext: { http: { method, path: p, sourceIp: '127.0.0.1' }, requestId: 'r', timeEpoch: 0 } });
const health = await m.handler(ev('GET', '/healthz'));
const t2 = performance.now();
const enroll = await m.handler(ev('POST', '/v1/pilot/enroll', JSON.stringify({ enrollmentToken: process.env.BEAM_ENROLLMENT_TOKEN,
  name: 'cold-' + process.pid, role: 'sentry', chainId: 'bench-1', pilotVersion: 'bench', claim: 'c'.repeat(64),
  cometNodeId: 'a'.repeat(40), p2pAddress: '10.0.0.1:26656', instanceId: null })));
const t3 = performance.now();
console.log(JSON.stringify({ health: health.statusCode, enroll: enroll.statusCode, sinceStart: performance.timeOrigin,
  importMs: t1 - t0, firstInvokeMs: t2 - t1, firstStoreRequestMs: t3 - t2, uptimeMs: performance.now() }));
`;

export async function measureBundle(options: { endpoint: string; runs: number }): Promise<BundleFigure> {
  const cache = path.join(REPO_ROOT, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const work = mkdtempSync(path.join(cache, 'beam-bench-bundle-'));
  try {
    const bundles = await bundleCommander(work);
    const size = (name: 'http' | 'tick') => {
      const b = bundles.find((x) => x.name === name)!;
      return { bytes: b.bytes, gzipBytes: gzipSync(readFileSync(b.file)).length };
    };
    const table = 'bench-cold';
    await ensureTable(createDynamoClient({ endpoint: options.endpoint }), table);
    const runs: {
      processToReadyMs: number;
      importMs: number;
      firstInvokeMs: number;
      firstStoreRequestMs: number;
    }[] = [];
    for (let i = 0; i < options.runs; i++) {
      const started = performance.now();
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', PROBE], {
        env: {
          PATH: process.env.PATH,
          BUNDLE: bundles.find((b) => b.name === 'http')!.file,
          BEAM_TABLE_NAME: table,
          BEAM_ENROLLMENT_TOKEN: 'bench-enrollment-token-0123456789',
          BEAM_DYNAMODB_ENDPOINT: options.endpoint,
          BEAM_AUTO_APPROVE_ROLES: 'sentry',
          BEAM_LOG_LEVEL: 'warn',
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'bench',
          AWS_SECRET_ACCESS_KEY: 'bench',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
        timeout: 30_000,
      });
      const total = performance.now() - started;
      const out = JSON.parse(stdout.trim().split('\n').pop()!);
      if (out.health !== 200 || (out.enroll !== 200 && out.enroll !== 202))
        throw new Error(`cold start probe failed: ${stdout}`);
      runs.push({
        processToReadyMs: total,
        importMs: out.importMs,
        firstInvokeMs: out.firstInvokeMs,
        firstStoreRequestMs: out.firstStoreRequestMs,
      });
    }
    const median = (key: keyof (typeof runs)[number]) =>
      round([...runs.map((r) => r[key])].sort((a, b) => a - b)[Math.floor(runs.length / 2)]!, 1);
    return {
      http: size('http'),
      tick: size('tick'),
      coldStart: {
        runs: runs.length,
        processToReadyMs: median('processToReadyMs'),
        importMs: median('importMs'),
        firstInvokeMs: median('firstInvokeMs'),
        firstStoreRequestMs: median('firstStoreRequestMs'),
      },
      settings: {
        bundle: `infra/bundle.ts bundleCommander (esbuild ${LAMBDA_BUNDLE.target}, ESM, minified, @aws-sdk/* external as on Lambda)`,
        coldStart: `median of fresh \`node\` processes (${process.version}) on this machine: import the bundle, GET /healthz (deps built), then POST /v1/pilot/enroll (first DynamoDB call, dynalite on loopback); processToReady = spawn to exit`,
        note: 'the AWS SDK is resolved from node_modules here; on Lambda it comes from the runtime',
      },
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
