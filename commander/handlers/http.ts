import type { CommanderDeps } from '../app/context.js';
import { cloudFromEnv } from '../adapters/ec2/config.js';
import { createChatOps } from '../app/chatops-factory.js';
import { buildDeps } from '../deps.js';
import { settingsFromEnv } from '../env.js';
import type { HttpEventV2, HttpResultV2 } from './lambda-types.js';
import { createChatRoutes, lambdaChat, type TransportTable } from './chat-routes.js';
import { createHttpHandler } from './routes.js';

let cached: Promise<(event: HttpEventV2) => Promise<HttpResultV2>> | undefined;

async function init(): Promise<(event: HttpEventV2) => Promise<HttpResultV2>> {
  const settings = await settingsFromEnv(process.env);
  const { secrets: chatSecrets, log } = await lambdaChat(process.env);
  // The notifier and the chat routes share one transport table: replies and alerts use one client.
  const transports: TransportTable = {};
  const deps: CommanderDeps = buildDeps(settings, {
    cloud: cloudFromEnv(process.env),
    transports,
    log,
  });
  const chat = createChatRoutes(deps, createChatOps(deps), chatSecrets, transports);
  return createHttpHandler(deps, chat.routes);
}

/** API Gateway HTTP API (payload v2) entry point; deps are built once per cold start. */
export async function handler(event: HttpEventV2): Promise<HttpResultV2> {
  cached ??= init().catch((error) => {
    cached = undefined; // a broken configuration is retried on the next invocation once fixed
    throw error;
  });
  return (await cached)(event);
}
