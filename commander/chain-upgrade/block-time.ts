/**
 * The chain's block time, from samples of its height and header time kept across ticks, and the
 * time a height is expected at. A few samples minutes apart smooth out one slow block.
 */
import type { BlockSample } from './state.js';

/** Samples kept: with one every SAMPLE_EVERY_MS, the estimate spans the last hour. */
const MAX_SAMPLES = 12;
const SAMPLE_EVERY_MS = 5 * 60_000;

/** Adds the newest block seen, when the chain moved since the last sample and enough time passed. */
export function addSample(samples: readonly BlockSample[], latest: BlockSample | null): BlockSample[] {
  const last = samples.at(-1);
  if (!latest || (last && latest.height <= last.height)) return [...samples];
  // The second sample is taken at once: an estimate from two blocks beats none at all.
  if (last && samples.length >= 2 && latest.at - last.at < SAMPLE_EVERY_MS) return [...samples];
  return [...samples, latest].slice(-MAX_SAMPLES);
}

/** Milliseconds per block over the samples, or null before the chain was seen moving. */
export function blockTimeMs(samples: readonly BlockSample[]): number | null {
  const first = samples[0];
  const last = samples.at(-1);
  if (!first || !last || last.height <= first.height || last.at <= first.at) return null;
  return (last.at - first.at) / (last.height - first.height);
}

/** When the chain is expected to reach `height`, or null without a block time. */
export function estimateAt(samples: readonly BlockSample[], height: number): number | null {
  const perBlock = blockTimeMs(samples);
  const last = samples.at(-1);
  if (perBlock === null || !last) return null;
  return Math.round(last.at + Math.max(0, height - last.height) * perBlock);
}
