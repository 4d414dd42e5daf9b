/**
 * Fuzzing the console chat: typed lines through bots/console.ts (startConsoleChat, consoleInput) into
 * the commander's real ChatOps (createChatOps over dynalite). Every line is answered, none throws,
 * bad lines get a message that says what is wrong, and only a button press may change fleet state.
 */
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsoleChat } from '../../bots/console.js';
import { createChatOps } from '../../commander/app/chatops-factory.js';
import { COMMAND_NAMES, parseCommand } from '../../commander/chatops/commands.js';
import {
  enrollApproved,
  enrollRequest,
  makeCommander,
  startDynalite,
  type TestCommander,
} from '../commander/helpers.js';
import { FUZZ_TIMEOUT_MS, fuzzParams, Outcomes, recordFuzz } from './kit.js';

const CHAT_ITEMS = new Set(['CHATAUDIT', 'DELIVERY', 'INTERACTION', 'MSG', 'AUDIT']);
const PROMPT = `beam-${randomBytes(4).toString('hex')}> `;
let db: Awaited<ReturnType<typeof startDynalite>>;
let c: TestCommander;
const outcome = new Outcomes('console input');
const written: string[] = [];

beforeAll(async () => {
  db = await startDynalite();
  c = await makeCommander(db.endpoint, {
    access: { console: { users: { me: 'operator' }, chats: ['console'] } },
  });
  await enrollApproved(c, enrollRequest({ name: 'val-1' }));
  const send = c.calls.send.bind(c.calls);
  c.calls.send = (command: { input?: { Item?: { pk?: unknown }; Key?: { pk?: unknown } } }) => {
    const name = String((command as object).constructor?.name);
    if (!/^(Get|BatchGet|Query|Scan)Command$/.test(name))
      written.push(String(command.input?.Item?.pk ?? command.input?.Key?.pk ?? name));
    return send(command);
  };
});

afterAll(async () => {
  recordFuzz(import.meta.filename, [outcome]);
  await db?.close();
});

/** Lines an operator might type, mostly wrong: commands with hostile arguments, presses, noise. */
const line = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...COMMAND_NAMES, 'fialover', 'STATUS', 'Help', ''),
        fc.array(
          fc.oneof(
            fc.constantFrom(
              'val-1',
              'sentry-a',
              'to',
              'yes',
              'no',
              '0',
              '-1',
              '1e309',
              '99999999999999999999',
              '--all',
            ),
            fc.string({ maxLength: 16 }),
          ),
          { maxLength: 4 },
        ),
        fc.constantFrom('', ' ', '\t', '  '),
      )
      .map(([cmd, args, pad]) => `${pad}${[cmd, ...args].join(pad || ' ')}`),
  },
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.nat({ max: 4 }).map(String),
      fc.nat({ max: 4 }).map((n) => `press ${n}`),
    ),
  },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 120 }) },
  {
    weight: 1,
    arbitrary: fc.string({ unit: 'binary', maxLength: 300 }).map((s) => s.replace(/[\r\n]/g, ' ')),
  },
);

describe('fuzzing console input', () => {
  it(
    'answers every line without throwing; bad lines say what is wrong; only presses change fleet state',
    async () => {
      const input = new PassThrough();
      const output = new PassThrough();
      let printed = '';
      let waiting: (() => void) | undefined;
      output.on('data', (chunk: Buffer) => {
        printed += chunk.toString('utf8');
        if (printed.endsWith(PROMPT)) waiting?.();
      });
      const chatops = createChatOps(c.deps);
      const { done } = startConsoleChat({ input, output, user: 'me', prompt: PROMPT }, chatops.handle);
      const answer = (text: string) =>
        new Promise<string>((resolve) => {
          printed = '';
          waiting = () => resolve(printed.slice(0, -PROMPT.length));
          input.write(`${text}\n`);
        });
      // The first prompt.
      await new Promise<void>((resolve) => {
        if (printed.endsWith(PROMPT)) resolve();
        else waiting = resolve;
      });

      await fc.assert(
        fc.asyncProperty(line, async (text) => {
          written.length = 0;
          const reply = await answer(text);
          const press = /^\s*(press\s+)?(\d+(\s+|\.))?\d+\s*$/i.test(text); // `2`, `press 12 2`, `12.2`
          const parsed = parseCommand(text);
          outcome.add(
            text.trim() === '' ? 'empty' : press ? 'press' : parsed.ok ? 'command' : 'refused by the parser',
          );
          expect(reply, `a thrown error for "${text}"`).not.toMatch(/^error: /m);
          if (text.trim() !== '') expect(reply.trim().length, `no answer to "${text}"`).toBeGreaterThan(0);
          if (!press && text.trim() !== '' && !parsed.ok) {
            // The parser's error reaches the user: it names the command or says what to type.
            expect(reply).toMatch(/unknown command|no command given|Did you mean|Usage|usage|:\s/);
          }
          if (!press)
            for (const pk of written) expect(CHAT_ITEMS.has(pk), `"${text}" wrote ${pk}`).toBe(true);
        }),
        fuzzParams('console input'),
      );
      input.end();
      await done;
    },
    FUZZ_TIMEOUT_MS,
  );
});
