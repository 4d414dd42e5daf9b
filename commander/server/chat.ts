/**
 * Chat for the self-hosted commander: the same webhook routes as Lambda, plus the connections a
 * machine without a public URL needs: Slack Socket Mode (when SLACK_APP_TOKEN is set) and Telegram
 * long polling (when a bot token is set and no webhook secret is).
 */
import { startSlackSocketMode } from '../../bots/slack/app.js';
import type { InputHandler } from '../../bots/model.js';
import { StoreDeduper } from '../adapters/store/chatops.js';
import { createChatOps } from '../app/chatops-factory.js';
import type { CommanderDeps } from '../app/context.js';
import type { ChatSecrets } from '../chat-env.js';
import type { ChatOps } from '../chatops/chatops.js';
import type { ChatRouteOptions, TransportTable } from '../handlers/chat-common.js';
import { createChatRoutes } from '../handlers/chat-routes.js';
import type { Route } from '../handlers/router.js';
import { slackAppOptions, slackWorkspaceOf } from '../handlers/slack-route.js';

export interface RunningChat {
  chatops: ChatOps;
  /** ChatOps' input handler: what a console (or any other transport) feeds its lines and clicks to. */
  handle: InputHandler;
  /** Webhook routes to serve over HTTP (Slack events without Socket Mode, Telegram with a webhook). */
  routes: Route[];
  /** How each platform is connected, for the start-up line. */
  connected: string[];
  stop(): Promise<void>;
}

/**
 * Builds ChatOps from the deps and connects the configured platforms. Transports go into `transports`
 * (the Notifier's table), so alerts and operation messages reach the same chats.
 */
export async function startChat(
  deps: CommanderDeps,
  secrets: ChatSecrets,
  transports: TransportTable,
  options: ChatRouteOptions = {},
): Promise<RunningChat> {
  const chatops = createChatOps(deps);
  const socketMode = Boolean(secrets.slack?.appToken);
  const wiring = createChatRoutes(
    deps,
    chatops,
    // With an app token Slack comes over Socket Mode; the HTTP route is not needed.
    socketMode ? { ...(secrets.telegram ? { telegram: secrets.telegram } : {}) } : secrets,
    transports,
    options,
  );
  const stops: (() => Promise<void>)[] = [];
  const connected: string[] = [];
  try {
    if (secrets.slack && socketMode) {
      const socket = await startSlackSocketMode(
        {
          ...slackAppOptions(
            secrets.slack,
            slackWorkspaceOf(deps.settings),
            wiring.logger,
            options.dedupe ?? new StoreDeduper(deps.store, deps.now),
            options,
          ),
          appToken: secrets.slack.appToken!,
        },
        chatops.handle,
      );
      transports.slack = socket.transport;
      stops.push(socket.stop);
      connected.push('slack: socket mode');
    } else if (wiring.slack) connected.push('slack: POST /slack/events');
    if (wiring.telegram && !secrets.telegram?.webhookSecret) {
      await wiring.telegram.startPolling();
      const bot = wiring.telegram;
      stops.push(() => bot.stop());
      connected.push('telegram: long polling');
    } else if (wiring.telegram) connected.push('telegram: POST /telegram/webhook');
  } catch (error) {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    throw error;
  }
  return {
    chatops,
    handle: chatops.handle,
    routes: wiring.routes,
    connected,
    async stop() {
      for (const stop of stops.reverse()) await stop();
    },
  };
}
