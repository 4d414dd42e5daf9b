/**
 * The commander's Lambda bundles exactly as CDK builds them (infra/bundle.ts): size, what fills them,
 * and each function's cold init in fresh Node processes, started with the environment its function
 * gets (values instead of secret ids): the module import, then its first answer to a real request.
 */
import { execFile } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { type BenchFleet, createBenchFleet } from '../commander/bench-kit.js';
import { signedHeaders } from '../protocol/index.js';
import { sampleReport } from '../test/fixtures/report.js';
import { bundleCommander, type CommanderEntries, LAMBDA_BUNDLE, REPO_ROOT } from '../infra/bundle.js';
import { startFakeApi } from '../test/bots/fake-api.js';
import { round } from './stats.js';

type FunctionName = keyof CommanderEntries;

export interface FunctionFigure {
  name: FunctionName;
  bytes: number;
  gzipBytes: number;
  /** The largest inputs (npm packages, repository folders) and their KiB in the bundle. */
  largest: { input: string; kib: number }[];
  coldStart: {
    runs: number;
    /** `await import(bundle)`. */
    importMs: number;
    /** The first invocation, from handler call to answer (configuration, clients, the request). */
    firstAnswerMs: number;
    /** Import to first answer: what a cold request waits for after the runtime is up. */
    importToFirstAnswerMs: number;
    /** CPU time (user + system) of import and first answer: what other load on the machine inflates least. */
    importToFirstAnswerCpuMs: number;
    /** Spawning the process to its exit. */
    processToReadyMs: number;
  };
  /** The request the first invocation answers. */
  firstRequest: string;
}

export interface BundleFigure {
  functions: FunctionFigure[];
  settings: Record<string, unknown>;
}

/** The goals of the pilot API function (the one every node calls every few seconds). */
export const PILOT_GOALS = { bundleKiB: 400, importToFirstAnswerMs: 200 } as const;

const PROBE = `
const event = JSON.parse(process.env.PROBE_EVENT);
const c0 = process.cpuUsage();
const t0 = performance.now();
const m = await import(process.env.BUNDLE);
const t1 = performance.now();
const answer = await m.handler(event);
const t2 = performance.now();
const cpu = process.cpuUsage(c0);
console.log(JSON.stringify({ answer, importMs: t1 - t0, firstAnswerMs: t2 - t1, cpuMs: (cpu.user + cpu.system) / 1000 }));
`;

const ENROLLMENT_TOKEN = 'bench-enrollment-token-0123456789';
const SLACK_SIGNING_SECRET = randomBytes(16).toString('hex');
const TELEGRAM_WEBHOOK_SECRET = randomBytes(16).toString('hex');
const PAGERDUTY_WEBHOOK_SECRET = randomBytes(16).toString('hex');

function httpEvent(method: string, rawPath: string, body: string, headers: Record<string, string>) {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString: '',
    headers,
    body,
    isBase64Encoded: false,
    requestContext: { http: { method, path: rawPath, sourceIp: '127.0.0.1' }, requestId: 'r', timeEpoch: 0 },
  };
}

interface FirstRequest {
  what: string;
  /** The event of run `i` (Slack's is signed with the time, so each is built right before its process). */
  event: (i: number) => unknown;
  ok: (answer: unknown) => boolean;
}

const status = (answer: unknown) => (answer as { statusCode?: number }).statusCode;

/**
 * Each function's first request: for the pilot API a signed report of an approved node (what nearly
 * every request to it is: one BatchGet, one Put), for the chat routes a verified `help` command.
 */
function firstRequests(fleet: BenchFleet): Record<FunctionName, FirstRequest> {
  return {
    pilot: {
      what: 'POST /v1/pilot/report, signed, of an approved node (one BatchGet, one Put)',
      event: (i) => {
        const node = fleet.nodes[i]!;
        const body = JSON.stringify(
          sampleReport({
            nodeId: node.id,
            seq: 1,
            role: node.role,
            chainId: node.chainId,
            sentAt: Date.now(),
          }),
        );
        return httpEvent('POST', '/v1/pilot/report', body, {
          'content-type': 'application/json',
          ...signedHeaders(node.id, node.secret, Date.now(), body),
        });
      },
      ok: (a) => status(a) === 200,
    },
    slack: {
      what: 'POST /slack/events, a signed `/beam help` (verified, deduplicated in the table, answered)',
      event: (i) => {
        const body = new URLSearchParams({
          team_id: 'T0BENCH',
          channel_id: 'CBENCH',
          user_id: 'UBENCH',
          command: '/beam',
          text: 'help',
          response_url: 'http://127.0.0.1:9/respond',
          trigger_id: `cold-${i}-${randomBytes(4).toString('hex')}`,
        }).toString();
        const ts = Math.floor(Date.now() / 1000);
        const signature = createHmac('sha256', SLACK_SIGNING_SECRET).update(`v0:${ts}:${body}`).digest('hex');
        return httpEvent('POST', '/slack/events', body, {
          'content-type': 'application/x-www-form-urlencoded',
          'x-slack-request-timestamp': String(ts),
          'x-slack-signature': `v0=${signature}`,
        });
      },
      ok: (a) => status(a) === 200,
    },
    telegram: {
      what: 'POST /telegram/webhook, `/help` in the ops group (verified, deduplicated in the table, answered)',
      event: (i) =>
        httpEvent(
          'POST',
          '/telegram/webhook',
          JSON.stringify({
            update_id: 1000 + i,
            message: {
              message_id: 1,
              date: 1,
              chat: { id: -500, type: 'group' },
              from: { id: 1001, is_bot: false, first_name: 'Bench' },
              text: '/help',
            },
          }),
          { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': TELEGRAM_WEBHOOK_SECRET },
        ),
      ok: (a) => status(a) === 200,
    },
    pagerduty: {
      what: 'POST /pagerduty/webhook, a signed incident.acknowledged for a key with no open alert (verified, looked up, audited)',
      event: (i) => {
        const body = JSON.stringify({
          event: { id: `cold-${i}`, event_type: 'incident.acknowledged', data: { incident_key: 'none' } },
        });
        const signature = createHmac('sha256', PAGERDUTY_WEBHOOK_SECRET).update(body).digest('hex');
        return httpEvent('POST', '/pagerduty/webhook', body, {
          'content-type': 'application/json',
          'x-pagerduty-signature': `v1=${signature}`,
        });
      },
      ok: (a) => status(a) === 200,
    },
    tick: {
      what: 'one scheduled tick of the fleet',
      event: () => ({ 'detail-type': 'Scheduled Event' }),
      ok: (a) => typeof (a as { nodes?: unknown }).nodes === 'number',
    },
  };
}

export async function measureBundle(options: { endpoint: string; runs: number }): Promise<BundleFigure> {
  const cache = path.join(REPO_ROOT, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const work = mkdtempSync(path.join(cache, 'beam-bench-bundle-'));
  // Where the chat functions' answers go: loopback stand-ins for Slack's and Telegram's APIs.
  const slackApi = await startFakeApi(() => ({ ok: true, channel: 'CBENCH', ts: '1.000100' }));
  const telegramApi = await startFakeApi(() => ({
    ok: true,
    result: { message_id: 1, date: 1, chat: { id: -500, type: 'group' } },
  }));
  try {
    const bundles = await bundleCommander(work);
    const keyFile = path.join(work, 'node-secrets.key');
    writeFileSync(keyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
    // One approved node per pilot API process, so that each one's first report is a node's first.
    const fleet = await createBenchFleet({
      endpoint: options.endpoint,
      nodes: options.runs,
      settings: { enrollmentToken: ENROLLMENT_TOKEN, secrets: { keyFile } },
    });
    const first = firstRequests(fleet);
    // What every function gets (the stack's variables; values instead of secret ids), and its own.
    const shared = {
      PATH: process.env.PATH ?? '',
      BEAM_TABLE_NAME: fleet.deps.settings.tableName,
      BEAM_FLEET: 'bench',
      BEAM_DYNAMODB_ENDPOINT: options.endpoint,
      BEAM_SECRETS_KEY_FILE: keyFile,
      BEAM_LOG_LEVEL: 'warn',
      BEAM_SETTINGS_JSON: JSON.stringify({
        access: {
          slack: { teamId: 'T0BENCH', users: { UBENCH: 'viewer' }, chats: ['CBENCH'] },
          telegram: { users: { '1001': 'viewer' }, chats: ['-500'] },
        },
      }),
      SLACK_BOT_TOKEN: 'xoxb-0000000000-0000000000-benchbenchbenchbenchbenc',
      SLACK_BOT_ID: 'B0BENCH',
      SLACK_BOT_USER_ID: 'U0BENCH',
      SLACK_API_URL: `${slackApi.url}/api/`,
      TELEGRAM_BOT_TOKEN: '1000000000:benchbenchbenchbenchbenchbenchbench',
      TELEGRAM_BOT_USERNAME: 'beam_bench_bot',
      TELEGRAM_API_ROOT: telegramApi.url,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    const own: Record<FunctionName, Record<string, string>> = {
      pilot: { BEAM_ENROLLMENT_TOKEN: ENROLLMENT_TOKEN },
      slack: { SLACK_SIGNING_SECRET },
      telegram: { TELEGRAM_WEBHOOK_SECRET },
      // The signing secret as a value, where the stack gives the secret's id.
      pagerduty: {
        BEAM_SETTINGS_JSON: JSON.stringify({
          ...JSON.parse(shared.BEAM_SETTINGS_JSON),
          paging: { pagerduty: { routingKey: 'B'.repeat(32), webhookSecrets: [PAGERDUTY_WEBHOOK_SECRET] } },
        }),
      },
      tick: {},
    };

    const functions: FunctionFigure[] = [];
    for (const bundle of bundles) {
      const request = first[bundle.name];
      const runs: Omit<FunctionFigure['coldStart'], 'runs'>[] = [];
      for (let i = 0; i < options.runs; i++) {
        const started = performance.now();
        const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', PROBE], {
          env: {
            ...shared,
            ...own[bundle.name],
            BUNDLE: bundle.file,
            PROBE_EVENT: JSON.stringify(request.event(i)),
          },
          timeout: 30_000,
        });
        const processToReadyMs = performance.now() - started;
        const out = JSON.parse(stdout.trim().split('\n').pop()!);
        if (!request.ok(out.answer)) throw new Error(`${bundle.name} cold start probe failed: ${stdout}`);
        runs.push({
          importMs: out.importMs,
          firstAnswerMs: out.firstAnswerMs,
          importToFirstAnswerMs: out.importMs + out.firstAnswerMs,
          importToFirstAnswerCpuMs: out.cpuMs,
          processToReadyMs,
        });
      }
      const median = (key: keyof (typeof runs)[number]) =>
        round([...runs.map((r) => r[key])].sort((a, b) => a - b)[Math.floor(runs.length / 2)]!, 1);
      functions.push({
        name: bundle.name,
        bytes: bundle.bytes,
        gzipBytes: gzipSync(readFileSync(bundle.file)).length,
        largest: Object.entries(bundle.inputs)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 4)
          .map(([input, bytes]) => ({ input, kib: Math.round(bytes / 1024) })),
        coldStart: {
          runs: runs.length,
          importMs: median('importMs'),
          firstAnswerMs: median('firstAnswerMs'),
          importToFirstAnswerMs: median('importToFirstAnswerMs'),
          importToFirstAnswerCpuMs: median('importToFirstAnswerCpuMs'),
          processToReadyMs: median('processToReadyMs'),
        },
        firstRequest: request.what,
      });
    }
    return {
      functions,
      settings: {
        bundle: `infra/bundle.ts bundleCommander (esbuild ${LAMBDA_BUNDLE.target}, ESM, minified, @aws-sdk/* external as on Lambda)`,
        coldStart: `median of fresh \`node\` processes (${process.version}) on this machine, each with its function's environment: import the bundle, then answer its first request (DynamoDB on dynalite over loopback; Slack and Telegram APIs on loopback fakes)`,
        note: 'the AWS SDK is resolved from node_modules here; on Lambda it comes from the runtime',
      },
    };
  } finally {
    await slackApi.close();
    await telegramApi.close();
    rmSync(work, { recursive: true, force: true });
  }
}
