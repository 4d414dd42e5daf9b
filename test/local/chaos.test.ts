import { describe, expect, it } from 'vitest';
import { parseChaos } from '../../local/chaos.js';

describe('chaos commands', () => {
  it('parses an upgrade with its default and given distance, and the network going down and up', () => {
    expect(parseChaos(['upgrade', 'v2'])).toEqual({
      ok: true,
      command: { verb: 'upgrade', name: 'v2', blocks: 60 },
    });
    expect(parseChaos(['upgrade', 'v2.1', '120'])).toEqual({
      ok: true,
      command: { verb: 'upgrade', name: 'v2.1', blocks: 120 },
    });
    expect(parseChaos(['network-down', '8'])).toEqual({
      ok: true,
      command: { verb: 'network-down', count: 8 },
    });
    expect(parseChaos(['network-up'])).toEqual({ ok: true, command: { verb: 'network-up' } });
  });

  it('names the field and the fix, with the usage', () => {
    const tooSoon = parseChaos(['upgrade', 'v2', '5']);
    expect(tooSoon.ok).toBe(false);
    expect(!tooSoon.ok && tooSoon.error).toMatch(/^blocks: use at least 20 blocks/);
    const badName = parseChaos(['upgrade', 'V 2']);
    expect(!badName.ok && badName.error).toMatch(/^name: use an upgrade name such as v2/);
    const tooMany = parseChaos(['network-down', '21']);
    expect(!tooMany.ok && tooMany.error).toMatch(
      /^count: there are 20 background validators\nchaos commands/,
    );
  });
});
