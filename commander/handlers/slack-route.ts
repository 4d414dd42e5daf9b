/**
 * `POST /slack/events`: Bolt's AwsLambdaReceiver verifies the signature, Beam's listeners check the
 * workspace and feed ChatOps. The Slack Lambda and the self-hosted server (chat-routes.ts) build it here.
 */
import type { Logger as PinoLogger } from 'pino';
import type { Deduper } from '../../bots/dedupe.js';
import { createSlackRoute, type SlackRoute, type SlackWorkspace } from '../../bots/slack/app.js';
import { StoreDeduper } from '../adapters/store/chatops.js';
import type { CommanderDeps } from '../app/context.js';
import type { SlackSecrets } from '../chat-env.js';
import type { ChatOps } from '../chatops/chatops.js';
import type { CommanderSettings } from '../settings.js';
import type { ChatRefusals, ChatRouteOptions, TransportTable } from './chat-common.js';
import type { Route } from './router.js';

/** The workspace Slack requests must come from; throws, naming the setting, when it is not configured. */
export function slackWorkspaceOf(settings: CommanderSettings): SlackWorkspace {
  const { teamId, enterpriseId } = settings.access.slack;
  if (!teamId) {
    throw new Error(
      'Slack needs access.slack.teamId (BEAM_SETTINGS_JSON or the serve config): the workspace id (T…) that `auth.test` answers as team_id; requests from any other workspace are refused',
    );
  }
  return { teamId, ...(enterpriseId ? { enterpriseId } : {}) };
}

/** The options every Beam Slack app is built with (webhook route or Socket Mode). */
export function slackAppOptions(
  slack: SlackSecrets,
  workspace: SlackWorkspace,
  logger: PinoLogger,
  dedupe: Deduper,
  o: ChatRouteOptions,
) {
  return {
    botToken: slack.botToken,
    workspace,
    ...(slack.botId && slack.botUserId ? { botId: slack.botId, botUserId: slack.botUserId } : {}),
    logger,
    dedupe,
    ...(slack.apiUrl ? { slackApiUrl: slack.apiUrl } : {}),
    ...(o.slackRetries !== undefined ? { retries: o.slackRetries } : {}),
    ...(o.slackBudgetMs !== undefined ? { budgetMs: o.slackBudgetMs } : {}),
  };
}

/**
 * The Slack webhook route; its transport goes into `transports` (the Notifier's table). Refused
 * requests are sampled into the chat audit, written before the response leaves.
 */
export function createSlackChatRoute(
  deps: CommanderDeps,
  chatops: ChatOps,
  slack: SlackSecrets & { signingSecret: string },
  transports: TransportTable,
  wiring: { logger: PinoLogger; refusals: ChatRefusals; options?: ChatRouteOptions },
): { route: Route; slack: SlackRoute } {
  const { logger, refusals, options = {} } = wiring;
  const dedupe = options.dedupe ?? new StoreDeduper(deps.store, deps.now);
  const slackRoute = createSlackRoute(
    {
      ...slackAppOptions(slack, slackWorkspaceOf(deps.settings), logger, dedupe, options),
      signingSecret: slack.signingSecret,
      onRejected: (r) => refusals.record('slack', r.reason),
    },
    chatops.handle,
  );
  transports.slack = slackRoute.transport;
  return {
    slack: slackRoute,
    route: {
      method: 'POST',
      path: '/slack/events',
      // The router has decoded a base64 body as UTF-8 already.
      handle: async (r) => {
        const res = await slackRoute.handle({ headers: r.headers, body: r.body, isBase64Encoded: false });
        await refusals.settle();
        return { statusCode: res.status, headers: res.headers, body: res.body };
      },
    },
  };
}
