/**
 * The Slack Lambda: `POST /slack/events`. Bolt verifies the signature; commands and buttons run through
 * ChatOps; messages to Telegram go over fetch. It holds no enrollment token and no EC2 rights: sentry
 * operations asked for here are decided and saved, and the tick makes their EC2 calls.
 */
import { withRegistryChains } from '../app/chain-registry.js';
import { createChatOps } from '../app/chatops-factory.js';
import { buildDeps } from '../deps.js';
import { settingsFromEnv } from '../env.js';
import { chatLogger, chatRefusals, createChatTransports, lambdaChat } from './chat-common.js';
import { ec2InTick, onColdStart } from './lambda-init.js';
import type { HttpEventV2, HttpResultV2 } from './lambda-types.js';
import type { Route } from './router.js';
import { handleRoutes } from './routes.js';
import { createSlackChatRoute } from './slack-route.js';

const ready = onColdStart(async () => {
  const [settings, chat] = await Promise.all([
    settingsFromEnv(process.env, { enrollmentToken: false }).then(withRegistryChains),
    lambdaChat(process.env),
  ]);
  const transports = createChatTransports(chat.secrets);
  const deps = buildDeps(settings, { transports, log: chat.log, ec2InTick: ec2InTick(process.env) });
  const routes: Route[] = [];
  const { slack } = chat.secrets;
  try {
    if (!slack?.signingSecret) throw new Error('Slack is not configured: see the problems logged above');
    const logger = chatLogger(chat.secrets);
    const built = createSlackChatRoute(
      deps,
      createChatOps(deps),
      { ...slack, signingSecret: slack.signingSecret },
      transports,
      { logger, refusals: chatRefusals(deps) },
    );
    routes.push(built.route);
  } catch (error) {
    // Answered 404 until fixed, like a platform left out for a credential problem.
    chat.log.error({ problem: (error as Error).message }, 'slack route disabled: fix the configuration');
  }
  return handleRoutes(deps.log, routes);
});

/** API Gateway HTTP API (payload v2) entry point. */
export async function handler(event: HttpEventV2): Promise<HttpResultV2> {
  return (await ready())(event);
}
