import { CommanderApp } from '../../commander/app/commander-app.js';
import type { CommanderDeps } from '../../commander/app/context.js';
import { waitFor } from './wait.js';

/**
 * Approves each named node as soon as its enrollment arrives, as an admin does with `approve <node>`:
 * validators are never approved without a person. Resolves once every one is approved.
 */
export async function approveOnEnrollment(deps: CommanderDeps, names: string[], timeoutMs = 30_000) {
  const app = new CommanderApp(deps);
  const actor = { kind: 'cli', id: 'test-admin' } as const;
  await waitFor(
    async () => {
      let approved = 0;
      for (const name of names) {
        const node = (await deps.store.getNode(name))?.value;
        if (node?.status === 'pending') await app.approveNode(actor, name);
        if (node?.status === 'approved') approved++;
      }
      return approved === names.length;
    },
    `${names.join(', ')} enrolled and approved`,
    { timeoutMs, intervalMs: 100 },
  );
}
