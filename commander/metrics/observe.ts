/** Where the commander's figures are taken, for Prometheus (self-hosted) and EMF (Lambda) alike. */
import { performance } from 'node:perf_hooks';
import type { CommanderDeps } from '../app/context.js';
import type { HttpEventV2, HttpResultV2 } from '../handlers/lambda-types.js';
import { type FleetFigures, readFleetFigures } from './figures.js';

type HttpHandler = (event: HttpEventV2) => Promise<HttpResultV2>;

/** The handler, timing each `POST /v1/pilot/report` from its event to its answer. */
export function timedReports(
  handler: HttpHandler,
  observe: (seconds: number, status: number) => void,
): HttpHandler {
  return async (event) => {
    if (event.rawPath !== '/v1/pilot/report') return handler(event);
    const started = performance.now();
    const result = await handler(event);
    observe((performance.now() - started) / 1000, result.statusCode);
    return result;
  };
}

/**
 * Runs `tick` and hands the fleet figures read after it, with its end and duration, to `observe`.
 * A failed read is logged and skipped: figures never stop a tick.
 */
export async function tickWithFigures<T>(
  deps: CommanderDeps,
  tick: () => Promise<T>,
  observe: (figures: FleetFigures, at: number, durationMs: number) => void,
): Promise<T> {
  const started = performance.now();
  const summary = await tick();
  const durationMs = performance.now() - started;
  try {
    observe(await readFleetFigures(deps.store), deps.now(), durationMs);
  } catch (error) {
    deps.log.warn(
      { err: (error as Error).message },
      'fleet figures not read: the metrics keep the last ones',
    );
  }
  return summary;
}
