import { App, AwsLambdaReceiver, type BlockAction, type ButtonAction } from '@slack/bolt';
import type { Logger } from 'pino';
import * as z from 'zod';
import { type Deduper, memoryDeduper } from '../dedupe.js';
import { deliverReplies, withinBudget } from '../deliver.js';
import { slackLogger } from './logger.js';
import type { HttpRequest, HttpResponse } from '../http.js';
import type { ChatInput, ChatMessage, InputHandler } from '../model.js';
import { renderSlack } from './blocks.js';
import { createSlackTransport, type SlackTransport } from './transport.js';

/** Slack gives a request 3 s; keep a margin for the network and Lambda. */
const DEFAULT_BUDGET_MS = 2_500;
/** Slack's replay window for signed requests. */
const SIGNATURE_WINDOW_S = 300;

/**
 * The one Slack workspace Beam serves (`team_id`, and the Enterprise Grid org when set). A request
 * correctly signed by Beam's app but coming from another workspace the app is installed in is refused.
 */
export interface SlackWorkspace {
  teamId: string;
  enterpriseId?: string;
}

export interface SlackListenerOptions {
  logger: Logger;
  workspace: SlackWorkspace;
  /** Told about every refused request (unsigned, stale, forged, unparseable, another workspace). */
  onRejected?: (rejection: SlackRejection) => void;
  /** The slash command, `/beam` by default. */
  command?: string;
  /** Remembers delivered requests so that Slack's retries are handled once. */
  dedupe?: Deduper;
  /** How long a listener waits for the handler before letting Bolt answer Slack. */
  budgetMs?: number;
}

export interface SlackAppOptions extends SlackListenerOptions {
  botToken: string;
  /** The bot's ids, so that Bolt skips `auth.test` on every cold start (without them it calls it once per process). */
  botId?: string;
  botUserId?: string;
  /** Web API base URL (with a trailing slash); tests point it at a loopback fake. */
  slackApiUrl?: string;
  /** Retries of Bolt's own Web API calls (`auth.test` without the bot ids); 0 in tests. */
  retries?: number;
}

/** A request refused before it reached a listener, for the audit log. */
export interface SlackRejection {
  reason: 'unsigned' | 'stale' | 'forged' | 'unparseable' | 'foreign workspace';
  timestamp?: number;
}

const SlackObject = z.record(z.string(), z.unknown());
/** What Bolt dereferences unchecked in a button click (block_actions) before any listener runs. */
const Interaction = z.looseObject({
  type: z.string(),
  user: z.looseObject({ id: z.string() }),
  // Bolt reads `channel.id` whenever `channel` is not undefined: null throws there.
  channel: z.looseObject({ id: z.string() }).optional(),
  team: SlackObject.nullish(),
  enterprise: SlackObject.nullish(),
  container: SlackObject.optional(),
  message: SlackObject.optional(),
  // Bolt routes a click by `actions[0]`: an empty list throws there.
  actions: z
    .array(z.looseObject({ action_id: z.string(), type: z.string() }))
    .min(1)
    .optional(),
  view: SlackObject.optional(),
});
const VIEW_TYPES = ['view_submission', 'view_closed'];
/** The slash command fields Beam's listener reads. */
const Command = z.looseObject({
  command: z.string(),
  text: z.string(),
  user_id: z.string(),
  channel_id: z.string(),
});
/** Events API callbacks: Bolt reads `event.channel.id`, `event.item.channel`, `event.user.id` and `event.subteam.created_by` unchecked. */
const EventCallback = z.looseObject({
  event: z.looseObject({
    channel: z.union([z.string(), z.looseObject({ id: z.unknown() })]).optional(),
    item: SlackObject.optional(),
    user: z.union([z.string(), SlackObject]).optional(),
    subteam: SlackObject.optional(),
  }),
});

/**
 * Whether Bolt would throw while routing this body (it dereferences `user.id`, `actions[0]`,
 * `channel.id`, `event.item` unchecked) and answer 500, which makes Slack redeliver a payload that
 * can never succeed. Such bodies are answered 400 instead. Parsing mirrors AwsLambdaReceiver's.
 */
export function unroutableForBolt(body: string, contentType: string | undefined): boolean {
  let parsed: unknown;
  try {
    const form = contentType === 'application/x-www-form-urlencoded' ? new URLSearchParams(body) : null;
    const payload = form?.get('payload');
    if (form && (payload === null || payload === undefined)) {
      return form.has('command') && !Command.safeParse(Object.fromEntries(form)).success;
    }
    parsed = JSON.parse(payload ?? body);
  } catch {
    return false; // Bolt's own parse error, answered 400 below
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return true;
  const b = parsed as Record<string, unknown>;
  if (b.event !== undefined) return !EventCallback.safeParse(b).success;
  if (b.command !== undefined) return !Command.safeParse(b).success;
  if (b.type === 'url_verification' || b.ssl_check !== undefined) return false;
  const routed =
    b.name !== undefined ||
    b.actions !== undefined ||
    ['block_suggestion', 'dialog_submission', 'shortcut', 'message_action', ...VIEW_TYPES].includes(
      String(b.type),
    );
  if (!routed) return false;
  const interaction = Interaction.safeParse(b);
  return !interaction.success || (VIEW_TYPES.includes(String(b.type)) && interaction.data.view === undefined);
}

export interface SlackRouteOptions extends SlackAppOptions {
  signingSecret: string;
}

/** The part of a Bolt payload that names a delivery; a retry repeats it. */
function deliveryKey(body: Record<string, unknown>): string | undefined {
  for (const key of ['event_id', 'trigger_id'] as const) {
    if (typeof body[key] === 'string') return body[key];
  }
  return undefined;
}

/**
 * Whether Bolt's view of a request's origin is the configured workspace: the team must match, and the
 * Enterprise Grid org too when one is configured.
 */
export function fromWorkspace(
  workspace: SlackWorkspace,
  origin: { teamId?: string | undefined; enterpriseId?: string | undefined },
): boolean {
  if (origin.teamId !== workspace.teamId) return false;
  return workspace.enterpriseId === undefined || origin.enterpriseId === workspace.enterpriseId;
}

/**
 * Registers Beam's listeners on a Bolt app: `/beam <text>` and button clicks. Shared by the Lambda
 * receiver and Socket Mode (they cannot be combined in one app). Each listener acks at once, hands the
 * input on and waits at most the budget, so Bolt's receiver answers Slack in time. Replies and
 * messages go out through `transport`.
 */
export function registerListeners(
  app: App,
  onInput: InputHandler,
  transport: SlackTransport,
  options: SlackListenerOptions,
): void {
  const { logger, workspace } = options;
  const dedupe = options.dedupe ?? memoryDeduper();
  const budgetMs = options.budgetMs ?? DEFAULT_BUDGET_MS;

  // First, before anything is written: another workspace gets a plain 200 and nothing else (an error
  // status would make Slack redeliver events, and disable the subscription if it kept failing).
  app.use(async (args) => {
    const origin = { teamId: args.context.teamId, enterpriseId: args.context.enterpriseId };
    if (!fromWorkspace(workspace, origin)) {
      logger.warn(origin, 'slack: request from another workspace refused');
      options.onRejected?.({ reason: 'foreign workspace' });
      if ('ack' in args && typeof args.ack === 'function') await args.ack();
      return;
    }
    await args.next();
  });

  app.use(async (args) => {
    const key = deliveryKey(args.body as Record<string, unknown>);
    if (key && (await dedupe.seen(`slack:${key}`))) {
      logger.info({ retryNum: args.context.retryNum, key }, 'slack: duplicate delivery ignored');
      if ('ack' in args && typeof args.ack === 'function') await args.ack();
      return;
    }
    await args.next();
  });

  const dispatch = async (input: ChatInput, respond: (m: ChatMessage) => Promise<unknown>) => {
    const work = (async () => {
      const replies = await onInput(input);
      await deliverReplies(input, replies, transport, async (m) => {
        await respond(m);
      });
    })().catch((error: unknown) => {
      logger.error({ err: error, kind: input.kind }, 'slack: handling an input failed');
    });
    if ((await withinBudget(work, budgetMs)) === 'late') {
      logger.warn(
        { kind: input.kind, budgetMs },
        'slack: handler exceeded its budget; answering Slack first',
      );
    }
  };

  app.command(options.command ?? '/beam', async ({ command, ack, respond }) => {
    await ack();
    const input: ChatInput = {
      kind: 'command',
      platform: 'slack',
      chat: command.channel_id,
      user: { id: command.user_id, name: command.user_name },
      text: command.text.trim(),
    };
    await dispatch(input, (m) => respond({ response_type: 'ephemeral', ...renderSlack(m) }));
  });

  app.action<BlockAction<ButtonAction>>(/^beam:/, async ({ body, action, ack, respond }) => {
    await ack();
    const chat = body.channel?.id ?? body.container?.channel_id;
    if (!chat || !action.value) {
      logger.warn({ actionId: action.action_id }, 'slack: button click without channel or value ignored');
      return;
    }
    const ts = body.message?.ts ?? body.container?.message_ts;
    const input: ChatInput = {
      kind: 'button',
      platform: 'slack',
      chat,
      user: { id: body.user.id, name: body.user.name },
      buttonId: action.value,
      ...(ts ? { message: { platform: 'slack', chat, messageId: ts } } : {}),
    };
    await dispatch(input, (m) =>
      respond({ response_type: 'ephemeral', replace_original: false, ...renderSlack(m) }),
    );
  });
}

function botIds(options: SlackAppOptions) {
  return options.botId && options.botUserId ? { botId: options.botId, botUserId: options.botUserId } : {};
}

/** The transport replies and commander messages go out with (the bot token over fetch, not Bolt's client). */
function transportOf(options: SlackAppOptions): SlackTransport {
  return createSlackTransport({
    botToken: options.botToken,
    ...(options.slackApiUrl ? { slackApiUrl: options.slackApiUrl } : {}),
  });
}

function clientOptions(options: SlackAppOptions) {
  return {
    ...(options.slackApiUrl ? { slackApiUrl: options.slackApiUrl } : {}),
    ...(options.retries !== undefined ? { retryConfig: { retries: options.retries } } : {}),
  };
}

function header(headers: HttpRequest['headers'], name: string): string | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

function rejectionReason(signature: string | undefined, ts: number): SlackRejection['reason'] {
  if (!signature || !Number.isFinite(ts) || ts === 0) return 'unsigned';
  if (Math.abs(Date.now() / 1000 - ts) > SIGNATURE_WINDOW_S) return 'stale';
  return 'forged';
}

export interface SlackRoute {
  /** Handles `POST /slack/events` as it arrives from API Gateway (HTTP API, payload v2). */
  handle(request: HttpRequest): Promise<HttpResponse>;
  transport: SlackTransport;
  app: App;
}

/** The Slack route for Lambda (or any HTTP server): Bolt's AwsLambdaReceiver verifies, Beam listens. */
export function createSlackRoute(options: SlackRouteOptions, onInput: InputHandler): SlackRoute {
  const { logger } = options;
  const reject = (rejection: SlackRejection): HttpResponse => {
    logger.warn(rejection, 'slack: request refused');
    options.onRejected?.(rejection);
    return { status: 401, headers: {}, body: '' };
  };
  const receiver = new AwsLambdaReceiver({
    signingSecret: options.signingSecret,
    logger: slackLogger(logger),
    invalidRequestSignatureHandler: ({ signature, ts }) => {
      options.onRejected?.({ reason: rejectionReason(signature, ts), timestamp: ts });
      logger.warn({ reason: rejectionReason(signature, ts), timestamp: ts }, 'slack: request refused');
    },
  });
  const app = new App({
    token: options.botToken,
    ...botIds(options),
    receiver,
    logger: slackLogger(logger),
    clientOptions: clientOptions(options),
  });
  const transport = transportOf(options);
  registerListeners(app, onInput, transport, options);
  const handler = receiver.toHandler();

  return {
    app,
    transport,
    async handle(request) {
      // Bolt decodes base64 as ASCII, which corrupts non-ASCII text: decode as UTF-8 here.
      const body =
        request.body !== undefined && request.isBase64Encoded
          ? Buffer.from(request.body, 'base64').toString('utf8')
          : (request.body ?? '');
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(request.headers)) if (v !== undefined) headers[k.toLowerCase()] = v;
      // Bolt matches the content type exactly; drop parameters such as `; charset=utf-8`.
      const contentType = header(headers, 'content-type');
      if (contentType) headers['content-type'] = contentType.split(';')[0]!.trim();
      // Bolt only rejects old timestamps; a timestamp far in the future is a replay risk too.
      const ts = Number(header(headers, 'x-slack-request-timestamp'));
      if (ts > Date.now() / 1000 + SIGNATURE_WINDOW_S) return reject({ reason: 'stale', timestamp: ts });
      if (unroutableForBolt(body, headers['content-type']))
        return { ...reject({ reason: 'unparseable' }), status: 400 };
      try {
        const result = await handler(
          {
            body,
            isBase64Encoded: false,
            headers,
            rawPath: '/slack/events',
            rawQueryString: '',
            routeKey: 'POST /slack/events',
            version: '2.0',
            requestContext: {},
          },
          {},
        );
        return {
          status: result.statusCode,
          headers: (result.headers as Record<string, string> | undefined) ?? {},
          body: typeof result.body === 'string' ? result.body : '',
        };
      } catch (error) {
        // Bolt parses the body before it checks the signature, so garbage throws.
        logger.warn({ err: error }, 'slack: unparseable request');
        return { ...reject({ reason: 'unparseable' }), status: 400 };
      }
    },
  };
}

export interface SlackSocketOptions extends SlackAppOptions {
  /** The app-level token (`xapp-…`) Socket Mode connects with. */
  appToken: string;
}

/** Runs the same listeners over Socket Mode, for self-hosted and local use (no public URL needed). */
export async function startSlackSocketMode(
  options: SlackSocketOptions,
  onInput: InputHandler,
): Promise<{ app: App; transport: SlackTransport; stop: () => Promise<void> }> {
  const app = new App({
    token: options.botToken,
    appToken: options.appToken,
    socketMode: true,
    ...botIds(options),
    logger: slackLogger(options.logger),
    clientOptions: clientOptions(options),
    // The Socket Mode client (apps.connections.open) takes its Web API options from here.
    installerOptions: { clientOptions: clientOptions(options) },
  });
  const transport = transportOf(options);
  registerListeners(app, onInput, transport, options);
  await app.start();
  return { app, transport, stop: () => app.stop() as Promise<void> };
}
