import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatButton, MessageRef } from '../../bots/model.js';
import { runTick } from '../../commander/app/tick.js';
import {
  UNJAIL_GRANT,
  broadcastProblem,
  resolveValidator,
  settleUnjail,
  type UnjailRequest,
  unjailRefusal,
  unjailSender,
} from '../../commander/app/unjail.js';
import { parseCommand } from '../../commander/chatops/commands.js';
import type { NodeRecord } from '../../commander/domain/registry.js';
import type { ChainFacts } from '../../protocol/index.js';
import { type ReportOver, TestFleet, VALIDATOR, VALOPER } from './fleet-kit.js';
import { startDynalite } from './helpers.js';

const TX = 'AB'.repeat(32);
const grant = { msgTypeUrl: UNJAIL_GRANT, expiresAt: null };

/** The validator jailed for downtime, its jail time over: an unjail would go through. */
const jailed = (grants: ChainFacts['grants'] = [grant]): ReportOver => ({
  chain: {
    validator: { jailed: true, status: 'unbonding', tokens: '1000' },
    signingInfo: {
      missedBlocksCounter: 0,
      signedBlocksWindow: 100,
      minSignedPerWindow: 0.5,
      jailedUntil: Date.UTC(2026, 0, 5, 11, 0, 0),
      tombstoned: false,
    },
    grants,
  },
});

describe('which validator, which node', () => {
  const node = (
    id: string,
    chain: Partial<ChainFacts> | null,
    lastSeen = 1000,
    daemon = { running: true, rpcReachable: true },
  ): NodeRecord =>
    ({
      id,
      chainId: 'c-1',
      role: 'validator',
      status: 'approved',
      lastSeen,
      lastReport: chain && {
        daemon,
        chain: { validatorAddress: VALIDATOR, operatorAddress: VALOPER, grants: null, ...chain },
      },
    }) as unknown as NodeRecord;

  it('resolves a node, a consensus address (any case) or a valoper address to the validator', () => {
    const nodes = [node('val-a', {}), node('val-b', {}), node('sentry-a', null)];
    const ref = { chainId: 'c-1', validator: VALIDATOR };
    expect(resolveValidator(nodes, 'val-b')).toEqual(ref);
    expect(resolveValidator(nodes, VALIDATOR.toLowerCase())).toEqual(ref);
    expect(resolveValidator(nodes, VALOPER)).toEqual(ref);
    expect(resolveValidator(nodes, 'sentry-a')).toBe(
      'sentry-a watches no validator (its latest report names none)',
    );
    expect(resolveValidator(nodes, 'val-z')).toBe(
      'no node of the fleet watches validator val-z: name a node, a consensus address (40 hex) or a valoper address',
    );
  });

  it('sends through the lease holder when known, else a node with a hot key, one with the grant first', () => {
    const ref = { chainId: 'c-1', validator: VALIDATOR };
    const nodes = [
      node('val-a', { grants: null }, 3000),
      node('val-b', { grants: [] }, 2000),
      node('val-c', { grants: [grant] }, 1000),
    ];
    expect(unjailSender(nodes, ref, 'val-a')?.id).toBe('val-a');
    expect(unjailSender(nodes, ref, null)?.id).toBe('val-c');
    expect(unjailSender(nodes.slice(0, 2), ref, null)?.id).toBe('val-b');
    expect(unjailSender(nodes.slice(0, 1), ref, null)).toBeNull();
  });

  it('passes over a holder whose daemon cannot broadcast (hung or down), for a node whose daemon answers', () => {
    const ref = { chainId: 'c-1', validator: VALIDATOR };
    const hung = { running: true, rpcReachable: false };
    const down = { running: false, rpcReachable: false };
    const holder = node('val-a', { grants: [grant] }, 3000, hung);
    const standby = node('val-b', { grants: [] }, 1000);
    expect(broadcastProblem(holder)).toBe('its daemon does not answer RPC');
    expect(broadcastProblem(node('val-x', {}, 1000, down))).toBe('its daemon is down');
    expect(broadcastProblem(standby)).toBeNull();
    // The standby sends it, although its grant is not known and the holder's is.
    expect(unjailSender([holder, standby], ref, 'val-a')?.id).toBe('val-b');
    // Among the others too, a node whose daemon answers goes first.
    const granted = node('val-c', { grants: [grant] }, 5000, down);
    expect(unjailSender([holder, granted, standby], ref, 'val-a')?.id).toBe('val-b');
    expect(unjailSender([granted, standby], ref, null)?.id).toBe('val-b');
    // Nobody can: the holder still gets it (its pilot's answer tells), else the best node with a hot key.
    expect(unjailSender([holder, node('val-b', { grants: [] }, 1000, down)], ref, 'val-a')?.id).toBe('val-a');
    expect(unjailSender([granted, node('val-b', { grants: [] }, 9000, down)], ref, null)?.id).toBe('val-c');
    // A holder whose latest report says its daemon answers, but is stale (a hung daemon slows its
    // pilot's reports), is passed over for a node with fresh facts.
    const stale = node('val-a', { grants: [grant] }, 3000);
    const recent = (n: NodeRecord) => n.id !== 'val-a';
    expect(unjailSender([stale, standby], ref, 'val-a')?.id).toBe('val-a');
    expect(unjailSender([stale, standby], ref, 'val-a', recent)?.id).toBe('val-b');
  });

  it('refuses what the chain would refuse: not jailed, tombstoned, jailed for a while yet', () => {
    const ref = { chainId: 'c-1', validator: VALIDATOR };
    const info = {
      missedBlocksCounter: 0,
      signedBlocksWindow: 100,
      minSignedPerWindow: 0.5,
      tombstoned: false,
    };
    const jail = (jailedNow: boolean, over: object = {}) => [
      node('val-a', {
        validator: { jailed: jailedNow, status: 'unbonding', tokens: '1' },
        signingInfo: { ...info, jailedUntil: 500, ...over },
      }),
    ];
    expect(unjailRefusal(jail(false), ref, 1000)).toBe('validator CCCCCCCC is not jailed (as val-a reports)');
    expect(unjailRefusal(jail(true, { tombstoned: true }), ref, 1000)).toBe(
      'validator CCCCCCCC is tombstoned: it can never be unjailed',
    );
    expect(unjailRefusal(jail(true, { jailedUntil: 5000 }), ref, 1000)).toBe(
      'validator CCCCCCCC is jailed until 1970-01-01T00:00:05.000Z: the chain refuses an unjail before then',
    );
    expect(unjailRefusal(jail(true), ref, 1000)).toBeNull();
    // Nobody read the validator: the chain answers through the pilot.
    expect(unjailRefusal([node('val-a', {})], ref, 1000)).toBeNull();
  });

  it('settles on the result, or fails after the timeout', () => {
    const request: UnjailRequest = {
      chainId: 'c-1',
      validator: VALIDATOR,
      id: 'unjail-1',
      node: 'val-a',
      requestedBy: 'console:op',
      at: 0,
      status: 'queued',
      txHash: null,
      height: null,
      message: null,
      finishedAt: null,
    };
    expect(settleUnjail(request, undefined, 60_000)).toBeNull();
    expect(settleUnjail(request, undefined, 10 * 60_000 + 1)).toMatchObject({
      status: 'failed',
      message: "no result from val-a's pilot within 10 min",
    });
    const result = { id: 'unjail-1', type: 'unjail', ok: true, finishedAt: 5, txHash: TX, height: 42 };
    expect(settleUnjail(request, result, 70_000)).toMatchObject({ status: 'done', txHash: TX, height: 42 });
    expect(settleUnjail({ ...request, status: 'done' }, result, 70_000)).toBeNull();
  });

  it('parses `unjail <validator|node>`, a dangerous command', () => {
    expect(parseCommand('unjail val-a')).toEqual({ ok: true, command: { name: 'unjail', target: 'val-a' } });
    expect(parseCommand('unjail')).toMatchObject({ ok: false, error: 'unjail: missing target' });
    expect(parseCommand('unjail val_a!')).toMatchObject({ ok: false, usage: 'unjail <validator|node>' });
  });
});

describe('a jailed validator in chat', () => {
  let db: Awaited<ReturnType<typeof startDynalite>>;
  let f: TestFleet;
  let alertButtons: ChatButton[];
  let alertRef: MessageRef;
  /** The confirmation question, replaced by the request's answer: where its outcome is told. */
  let answerRef: MessageRef;

  beforeAll(async () => {
    db = await startDynalite();
    f = await TestFleet.start(db.endpoint);
    await f.reportAll();
    await runTick(f.c.deps);
  });
  afterAll(async () => {
    await db?.close();
  });

  const queued = async () =>
    (await f.c.store.getNode('val-a'))!.value.actions.filter((a) => a.type === 'unjail');

  it('is a critical alert with an [Unjail] button', async () => {
    f.c.clock.advance(5_000);
    await f.reportAll({ 'val-a': jailed(), 'val-b': jailed([]) });
    await runTick(f.c.deps);
    const post = f.c.transport.posts.find((p) => p.message.title === 'validator CCCCCCCC jailed');
    expect(post?.message.severity).toBe('critical');
    alertButtons = post!.message.buttons!;
    alertRef = post!.ref;
    expect(alertButtons.map((b) => [b.label, b.style])).toEqual([
      ['Acknowledge', undefined],
      ['Mute 1h', undefined],
      ['Unjail', 'danger'],
    ]);
  });

  it('refuses a viewer, and asks the operator for a confirmation before anything is sent', async () => {
    const unjail = alertButtons.find((b) => b.label === 'Unjail')!;
    const [viewer] = await f.press('look', unjail.id, alertRef);
    expect(viewer).toMatchObject({
      private: true,
      message: { text: '`unjail` needs the operator role; you are viewer' },
    });
    const [question] = await f.press('op', unjail.id, alertRef);
    expect(question!.message.title).toBe(`Confirm: unjail ${VALIDATOR}`);
    expect(question!.replace).toBeUndefined();
    expect(question!.message.buttons!.map((b) => b.label)).toEqual(['Confirm', 'Cancel']);
    expect(await queued()).toEqual([]);
    const confirmRef = await f.show(question!);
    answerRef = confirmRef;

    // Another operator may not answer it; a double press acts once.
    const confirm = question!.message.buttons![0]!.id;
    const [other] = await f.press('op2', confirm, confirmRef);
    expect(other!.message.text).toBe('only op or an admin can answer this');
    const [first, second] = await Promise.all([
      f.press('op', confirm, confirmRef),
      f.press('op', confirm, confirmRef),
    ]);
    const answers = [first![0]!, second![0]!];
    const accepted = answers.find((a) => a.message.title === `Unjail of ${VALIDATOR}: accepted`);
    expect(accepted?.replace).toEqual(confirmRef);
    expect(accepted!.message.text).toBe(
      'val-a (the lease holder) sends MsgExec(MsgUnjail) for validator CCCCCCCC with its hot key; the tx hash follows here.',
    );
    expect(
      answers.filter((a) => a.message.text === 'this button has expired or was already used'),
    ).toHaveLength(1);
    await f.show(accepted!);
    expect(await queued()).toMatchObject([{ type: 'unjail', id: expect.stringMatching(/^unjail-/) }]);
  });

  it('queues nothing more while that unjail waits, whoever asks again', async () => {
    const [question] = await f.say('op2', 'unjail val-b');
    expect(question!.message.title).toBe('Confirm: unjail val-b');
    await f.show(question!);
    const [answer] = await f.press('op2', question!.message.buttons![0]!.id);
    expect(answer!.message.title).toBe('Unjail of val-b: refused');
    expect(answer!.message.text).toMatch(
      /^an unjail of CCCCCCCC \(unjail-[a-z0-9-]+, asked by console:op\) is waiting for val-a's pilot$/,
    );
    expect(await queued()).toHaveLength(1);
  });

  it("posts the tx hash in place of the request's answer once the pilot reports it", async () => {
    const [action] = await queued();
    f.c.clock.advance(5_000);
    // val-a's pilot gets the action with its next reply, and answers it in the report after.
    expect((await f.report('val-a', jailed())).actions).toContainEqual(action);
    await f.report('val-a', {
      ...jailed(),
      results: [
        { id: action!.id, type: 'unjail', ok: true, finishedAt: f.c.clock.now(), txHash: TX, height: 512 },
      ],
    });
    await runTick(f.c.deps);
    const edits = f.c.transport.updates.filter((u) => u.ref.messageId === answerRef.messageId);
    expect(edits.map((u) => [u.message.title, u.message.text])).toEqual([
      [`Unjail of ${VALIDATOR}: accepted`, expect.stringContaining('the tx hash follows here')],
      ['Unjail of validator CCCCCCCC: done', `tx ${TX} at height 512, sent by val-a`],
    ]);
    // Unjailed on chain: the alert resolves, and its message loses the buttons.
    f.c.clock.advance(5_000);
    await f.reportAll();
    await runTick(f.c.deps);
    expect((await f.c.store.getAlert(`validator:beam-devnet-1:${VALIDATOR}:jailed`))!.value.state).toBe(
      'resolved',
    );
    const [again] = await f.say('op', `unjail ${VALOPER}`);
    await f.show(again!);
    const [notJailed] = await f.press('op', again!.message.buttons![0]!.id);
    expect(notJailed!.message.text).toBe('validator CCCCCCCC is not jailed (as val-a reports)');
  });

  it("tells the pilot's refusal", async () => {
    f.c.clock.advance(5_000);
    await f.reportAll({ 'val-a': jailed(), 'val-b': jailed() });
    const [question] = await f.say('op', 'unjail val-a');
    await f.show(question!);
    const [accepted] = await f.press('op', question!.message.buttons![0]!.id);
    const ref = await f.show(accepted!);
    const [action] = await queued();
    f.c.clock.advance(5_000);
    const refusal = 'refused: unjail is off in this pilot (limits.allow_unjail = false)';
    await f.report('val-a', {
      ...jailed(),
      results: [{ id: action!.id, type: 'unjail', ok: false, finishedAt: f.c.clock.now(), message: refusal }],
    });
    await runTick(f.c.deps);
    const told = f.c.transport.updates.filter((u) => u.ref.messageId === ref.messageId).at(-1)!;
    expect(told.message).toMatchObject({
      title: 'Unjail of validator CCCCCCCC: FAILED',
      severity: 'warning',
      text: `val-a: ${refusal}`,
    });
  });

  it("sends through the standby when the lease holder's daemon does not answer, and says why", async () => {
    f.c.clock.advance(5_000);
    await f.reportAll({ 'val-a': { ...jailed(), daemon: { rpcReachable: false } }, 'val-b': jailed([]) });
    const { answer } = await f.confirm('op', 'unjail val-a');
    expect(answer.message.text).toBe(
      "val-b (not val-a, the lease holder: its daemon does not answer RPC) sends MsgExec(MsgUnjail) for validator CCCCCCCC with its hot key; the tx hash follows here. Warning: val-b's hot key holds no grant for /cosmos.slashing.v1beta1.MsgUnjail: run `beam-pilot grants` and submit it, or the tx fails.",
    );
    const onB = (await f.c.store.getNode('val-b'))!.value.actions.filter((a) => a.type === 'unjail');
    expect(onB).toMatchObject([{ id: expect.stringMatching(/^unjail-/) }]);
  });
});
