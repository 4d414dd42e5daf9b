/** A chain on paper for the chain upgrade decisions: a block every 5 s, three nodes, ticks of the machine. */
import type { ChatMessage } from '../../../bots/model.js';
import type { ChainUpgradeFacts, UpgradeNodeFacts } from '../../../commander/chain-upgrade/facts.js';
import { type ChainUpgradeEffect, decideChainUpgrade } from '../../../commander/chain-upgrade/machine.js';
import { ChainUpgradeSettings } from '../../../commander/chain-upgrade/settings.js';
import { type ChainUpgradeState, initialChainUpgradeState } from '../../../commander/chain-upgrade/state.js';
import type { UpgradeFacts } from '../../../protocol/index.js';

export const CHAIN = 'beam-devnet-1';
export const VALIDATOR = 'A'.repeat(40);
export const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
export const MIN = 60_000;
export const HOUR = 60 * MIN;
export const BLOCK_MS = 5_000;
export const START_HEIGHT = 10_000;
/** 26 h of 5-second blocks after T0: the upgrade is due 2026-01-06 14:00 UTC. */
export const H = START_HEIGHT + (26 * HOUR) / BLOCK_MS;
export const ETA = T0 + 26 * HOUR;
export const PLAN = {
  name: 'v2',
  height: H,
  info: '{"binaries":{"linux/amd64":"https://example.com/gaiad-v2"}}',
};
export const NODES = ['val-a', 'val-b', 'sentry-a'] as const;
export type NodeName = (typeof NODES)[number];

/** The chain's height at `t`, stopping at the block before the upgrade (the old binary halts there). */
export const heightAt = (t: number) => Math.min(H - 1, START_HEIGHT + Math.floor((t - T0) / BLOCK_MS));

export const staged = (over: Partial<UpgradeFacts> = {}): UpgradeFacts => ({
  cosmovisor: true,
  plan: PLAN,
  staged: true,
  halted: null,
  ...over,
});

/** A node at time `t`: on v1.0.0 at the chain's height, the plan staged; override what a test is about. */
export function node(id: NodeName, t: number, over: Partial<UpgradeNodeFacts> = {}): UpgradeNodeFacts {
  const height = heightAt(t);
  const validator = id.startsWith('val-');
  return {
    id,
    role: validator ? 'validator' : 'sentry',
    fresh: true,
    height,
    latestBlockTime: T0 + (height - START_HEIGHT) * BLOCK_MS,
    version: 'v1.0.0',
    upgrade: staged(),
    validator: validator ? VALIDATOR : null,
    signedHeights: validator ? [height - 2, height - 1] : [],
    ...over,
  };
}

export function facts(
  t: number,
  over: Partial<Record<NodeName, Partial<UpgradeNodeFacts>>> = {},
): ChainUpgradeFacts {
  return { chainId: CHAIN, nodes: NODES.map((id) => node(id, t, over[id])) };
}

export const SETTINGS = ChainUpgradeSettings.parse({});

/** Runs the machine tick by tick, the state going through JSON as it does through the store. */
export class Thread {
  state: ChainUpgradeState = initialChainUpgradeState(CHAIN);
  readonly effects: (ChainUpgradeEffect & { at: number })[] = [];
  now = T0;

  constructor(readonly settings: ChainUpgradeSettings = SETTINGS) {}

  tick(f: ChainUpgradeFacts, at = this.now): ChainUpgradeEffect[] {
    this.now = at;
    const out = decideChainUpgrade(JSON.parse(JSON.stringify(this.state)), f, this.settings, at);
    this.state = out.state;
    this.effects.push(...out.effects.map((e) => ({ ...e, at })));
    return out.effects;
  }

  /** Ticks every `stepMs` from now until `until` (inclusive), with facts of each moment. */
  run(until: number, stepMs: number, f: (t: number) => ChainUpgradeFacts): void {
    for (let t = this.now + stepMs; t <= until; t += stepMs) this.tick(f(t), t);
  }

  get upgrade() {
    return this.state.upgrades.v2!;
  }
}

export const titles = (effects: readonly { message: ChatMessage }[]) => effects.map((e) => e.message.title);
