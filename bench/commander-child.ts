/**
 * The self-hosted commander as the bench runs it: `serve()` with its embedded dynalite on disk, in its
 * own Node process (so the load generator does not share its event loop). Controlled over IPC:
 * `calls` (store calls so far), `queue-restart` (queue a restart-daemon action for a node),
 * `approve` (approve a pending node). Prints `{"listening", "dynamodbEndpoint", "tableName"}` once ready.
 */
import { CommanderApp } from '../commander/app/commander-app.js';
import type { CountingSender } from '../commander/adapters/store/client.js';
import { serve } from '../commander/server/serve.js';
import { ServeConfig } from '../commander/server/serve.js';

const [stateDir, token, tick, reportIntervalMs] = process.argv.slice(2);
if (!stateDir || !token) throw new Error('usage: commander-child.ts STATE_DIR TOKEN [TICK_CRON] [REPORT_MS]');

const config = ServeConfig.parse({
  listen: '127.0.0.1:0',
  stateDir,
  tick: tick ?? '*/5 * * * * *',
  settings: {
    enrollmentToken: token,
    reportIntervalMs: Number(reportIntervalMs ?? 5000),
    enrollRetryMs: 500,
  },
});
const running = await serve(config, { transports: {} });
const calls = (running.deps as typeof running.deps & { calls: CountingSender }).calls;
const app = new CommanderApp(running.deps);
const actor = { kind: 'system', id: 'bench' } as const;

type Message =
  | { id: number; type: 'calls' }
  | { id: number; type: 'queue-restart' | 'approve'; node: string };
process.on('message', (raw) => {
  const m = raw as Message;
  const answer = (value: unknown) => process.send?.({ id: m.id, value });
  const fail = (error: unknown) => process.send?.({ id: m.id, error: (error as Error).message });
  if (m.type === 'calls') answer({ calls: calls.calls, byCommand: Object.fromEntries(calls.byCommand) });
  else if (m.type === 'queue-restart') app.queueRestart(actor, m.node).then(answer, fail);
  else if (m.type === 'approve') app.approveNode(actor, m.node).then(() => answer(true), fail);
});
process.on('disconnect', () => {
  running.close().finally(() => process.exit(0));
});
console.log(
  JSON.stringify({
    listening: running.url,
    dynamodbEndpoint: running.deps.settings.dynamodbEndpoint,
    tableName: running.deps.settings.tableName,
  }),
);
