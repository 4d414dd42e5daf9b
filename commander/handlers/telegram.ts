/**
 * The Telegram Lambda: `POST /telegram/webhook`. The secret-token header is checked; commands and
 * buttons run through ChatOps; messages to Slack go over fetch. It holds no enrollment token and no
 * EC2 rights: sentry operations asked for here are decided and saved, and the tick makes their EC2 calls.
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
import { createTelegramChatBot } from './telegram-route.js';

const ready = onColdStart(async () => {
  const [settings, chat] = await Promise.all([
    settingsFromEnv(process.env, { enrollmentToken: false }).then(withRegistryChains),
    lambdaChat(process.env, { slackPostOnly: true }),
  ]);
  const transports = createChatTransports(chat.secrets);
  const deps = buildDeps(settings, { transports, log: chat.log, ec2InTick: ec2InTick(process.env) });
  const { telegram } = chat.secrets;
  const built = telegram?.webhookSecret
    ? createTelegramChatBot(deps, createChatOps(deps), telegram, transports, {
        logger: chatLogger(chat.secrets),
        refusals: chatRefusals(deps),
      })
    : undefined;
  // Without a bot token or webhook secret, 404 until fixed; lambdaChat logged the problem.
  if (!built?.route) chat.log.error({}, 'telegram route disabled: fix the configuration');
  const routes: Route[] = built?.route ? [built.route] : [];
  return handleRoutes(deps.log, routes);
});

/** API Gateway HTTP API (payload v2) entry point. */
export async function handler(event: HttpEventV2): Promise<HttpResultV2> {
  return (await ready())(event);
}
