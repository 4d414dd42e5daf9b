/**
 * The tick Lambda (EventBridge schedule): health, alerts, failover, sentry defence (the only function
 * with EC2 rights, hence also the approval and binding of sentries the pilot API saw prove their
 * instance), governance and config convergence. It takes no requests and posts over fetch.
 */
import { cloudFromEnv } from '../adapters/ec2/config.js';
import { withRegistryChains } from '../app/chain-registry.js';
import { type ProvenSentries, settleProvenSentries } from '../app/proven-sentries.js';
import { type TickSummary, runTick } from '../app/tick.js';
import { buildDeps } from '../deps.js';
import { settingsFromEnv } from '../env.js';
import { stdoutLine, TickEmf } from '../metrics/emf.js';
import { tickWithFigures } from '../metrics/observe.js';
import { createChatTransports, lambdaChat } from './chat-common.js';
import { onColdStart } from './lambda-init.js';
import type { ScheduledEvent } from './lambda-types.js';

const ready = onColdStart(async () => {
  const [settings, chat] = await Promise.all([
    settingsFromEnv(process.env, { enrollmentToken: false }).then(withRegistryChains),
    lambdaChat(process.env, { slackPostOnly: true }),
  ]);
  const deps = buildDeps(settings, {
    cloud: cloudFromEnv(process.env),
    transports: createChatTransports(chat.secrets),
    log: chat.log,
  });
  return { deps, emf: new TickEmf(deps.calls, stdoutLine) };
});

/** EventBridge schedule entry point: one tick, and the proven sentries it approved and bound. */
export async function handler(_event: ScheduledEvent): Promise<TickSummary & { proven: ProvenSentries }> {
  const { deps, emf } = await ready();
  // The fleet's figures go to CloudWatch as one EMF line per tick (metrics/emf.ts).
  const summary = await tickWithFigures(
    deps,
    async () => {
      // First, so that the sentries approved here are in this tick's configs and health.
      const proven = await settleProvenSentries(deps);
      return { ...(await runTick(deps)), proven };
    },
    (figures, at, ms) => emf.tick(figures, at, ms),
  );
  deps.log.info({ ...summary }, 'tick');
  return summary;
}
