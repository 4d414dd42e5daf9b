import type { CommanderDeps } from '../app/context.js';
import { cloudFromEnv } from '../adapters/ec2/config.js';
import { buildDeps } from '../deps.js';
import { settingsFromEnv } from '../env.js';
import type { HttpEventV2, HttpResultV2 } from './lambda-types.js';
import { createHttpHandler } from './routes.js';

let cached: Promise<(event: HttpEventV2) => Promise<HttpResultV2>> | undefined;

async function init(): Promise<(event: HttpEventV2) => Promise<HttpResultV2>> {
  const deps: CommanderDeps = buildDeps(await settingsFromEnv(process.env), {
    cloud: cloudFromEnv(process.env),
  });
  return createHttpHandler(deps);
}

/** API Gateway HTTP API (payload v2) entry point; deps are built once per cold start. */
export async function handler(event: HttpEventV2): Promise<HttpResultV2> {
  cached ??= init().catch((error) => {
    cached = undefined; // a broken configuration is retried on the next invocation once fixed
    throw error;
  });
  return (await cached)(event);
}
