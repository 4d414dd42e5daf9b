import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { startConsoleChat } from '../../bots/console.js';
import { waitFor } from '../helpers/wait.js';
import { chatopsFixture } from './chatops-fixture.js';

describe('console chat', () => {
  it('round-trips commands, numbered button presses and in-place updates', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let printed = '';
    output.on('data', (chunk: Buffer) => {
      printed += chunk.toString('utf8');
    });
    const t = chatopsFixture();
    const { done, transport } = startConsoleChat({ input, output, user: 'me' }, t.chatops.handle);
    const type = async (line: string, expected: string) => {
      input.write(`${line}\n`);
      await waitFor(() => printed.includes(expected), `"${expected}" after "${line}"`, { timeoutMs: 5000 });
    };

    await type('status', '[1] (warning) Fleet beamnet-1 at 1200');
    expect(printed).toContain('val-1 *   validator  active');
    await type('failover to val-2', '[2] (warning) Confirm: failover to val-2');
    expect(printed).toContain('  1) Confirm\n  2) Cancel');
    await type('1', 'updated: [2] (info) Failover to val-2: accepted');
    expect(t.fleet.calls).toEqual([{ method: 'requestFailover', args: { to: 'val-2', by: 'me' } }]);
    await type('press 1', 'no message with buttons to press');
    await type('replace sentry-a', '[3] (warning) Confirm: replace sentry-a');
    await type('3', 'no button 3 on message [3]: choose 1–2');
    await type('press 2 1', 'message [2] has no buttons to press');
    await type('failover to val-2', '[4] (warning) Confirm: failover to val-2');
    // A message named by its number: [3]'s buttons, though [4] is the latest with buttons.
    await type('press 3 2', 'updated: [3] Cancelled');
    await type('4.2', 'updated: [4] Cancelled');
    await type('fialover', 'Did you mean `failover`?');
    expect(t.fleet.calls).toHaveLength(1);
    expect(transport.latestButtons).toBeUndefined();

    input.end();
    await done;
  });
});
