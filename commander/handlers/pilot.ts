/**
 * The pilot API Lambda: `POST /v1/pilot/enroll`, `POST /v1/pilot/report`, `GET /healthz`. It imports
 * no chat framework and no EC2 client: it posts enrollment and failover notices over fetch with the
 * bot tokens, and holds the only copy of the fleet enrollment token.
 */
import { buildDeps } from '../deps.js';
import { settingsFromEnv } from '../env.js';
import { ReportEmf, stdoutLine } from '../metrics/emf.js';
import { timedReports } from '../metrics/observe.js';
import { createChatTransports, lambdaChat } from './chat-common.js';
import { ec2InTick, onColdStart } from './lambda-init.js';
import type { HttpEventV2, HttpResultV2 } from './lambda-types.js';
import { createHttpHandler } from './routes.js';

const ready = onColdStart(async () => {
  const [settings, chat] = await Promise.all([
    settingsFromEnv(process.env),
    lambdaChat(process.env, { slackPostOnly: true }),
  ]);
  // Without EC2 rights this function cannot ask EC2 about an enrolling instance: it checks the
  // identity document and records the proven instance, and the tick approves and binds the sentry
  // once EC2 agrees (app/proven-sentries.ts). So nothing is approved here, whatever the policy says.
  const deps = buildDeps(
    { ...settings, autoApprove: { roles: [] } },
    { transports: createChatTransports(chat.secrets), log: chat.log, ec2InTick: ec2InTick(process.env) },
  );
  // Report latencies go to CloudWatch as EMF lines, one per batch (metrics/emf.ts).
  const reports = new ReportEmf(deps.calls, stdoutLine);
  return timedReports(createHttpHandler(deps), (seconds, status) => reports.observe(seconds, status));
});

/** API Gateway HTTP API (payload v2) entry point. */
export async function handler(event: HttpEventV2): Promise<HttpResultV2> {
  return (await ready())(event);
}
