import type { CommanderDeps } from '../app/context.js';
import { type TickSummary, runTick } from '../app/tick.js';
import { cloudFromEnv } from '../adapters/ec2/config.js';
import { buildDeps } from '../deps.js';
import { settingsFromEnv } from '../env.js';
import { createChatTransports, lambdaChat } from './chat-routes.js';
import type { ScheduledEvent } from './lambda-types.js';

let cached: Promise<CommanderDeps> | undefined;

/** EventBridge schedule entry point: one tick of health, alerts and config convergence. */
export async function handler(_event: ScheduledEvent): Promise<TickSummary> {
  cached ??= settingsFromEnv(process.env)
    .then(async (settings) => {
      const { secrets, log } = await lambdaChat(process.env);
      return buildDeps(settings, {
        cloud: cloudFromEnv(process.env),
        transports: createChatTransports(secrets),
        log,
      });
    })
    .catch((error) => {
      cached = undefined;
      throw error;
    });
  const deps = await cached;
  const summary = await runTick(deps);
  deps.log.info({ ...summary }, 'tick');
  return summary;
}
