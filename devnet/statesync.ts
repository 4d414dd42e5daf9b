/**
 * State sync's snapshot discovery and restore, as CometBFT's syncer: every p2p peer is asked for
 * its snapshots (when it joins, and again at each discovery round); after `discovery_time` the
 * newest offered snapshot at or above trust_height whose next two headers the light client verifies
 * is restored, chunk by chunk from the peers offering it, and checked against its hash. A snapshot
 * whose chunks cannot be had or do not match is rejected and the next one tried. With
 * discovery_time 0 and nothing to restore, state sync fails for good (the node stays behind).
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { StateSyncConfig } from './config.js';
import { cometLog } from './cometlog.js';
import type { LightClient } from './lightclient.js';
import { ChunkAnswer, SnapshotsAnswer, type SyncRequest } from './syncmessages.js';
import { type Snapshot, chunksHash } from './snapshots.js';

const OFFER_TIMEOUT_MS = 5_000;

export interface StateSyncDeps {
  config: StateSyncConfig;
  light: LightClient;
  /** Connected p2p peers. */
  peers(): string[];
  request(peerId: string, body: SyncRequest, timeoutMs: number): Promise<unknown>;
  signal: AbortSignal;
}

interface Offer {
  snapshot: Snapshot;
  peers: Set<string>;
}

/** Go's time.Duration.String() for whole seconds and up ("5s", "1m30s"). */
function goDuration(ms: number): string {
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${(ms % 60_000) / 1000}s`;
}

const keyOf = (s: Snapshot) => `${s.height}/${s.format}/${s.hash}`;
const snapshotFields = (s: Snapshot) => ({
  module: 'statesync',
  height: s.height,
  format: s.format,
  hash: s.hash,
});

export class StateSync {
  private readonly offers = new Map<string, Offer>();
  private readonly rejected = new Set<string>();

  constructor(private readonly d: StateSyncDeps) {}

  /** CometBFT's AddPeer: a joining peer is asked for its snapshots. */
  addPeer(peerId: string): void {
    this.d.request(peerId, { t: 'snapshots' }, OFFER_TIMEOUT_MS).then(
      (answer) => {
        const parsed = SnapshotsAnswer.safeParse(answer);
        for (const snapshot of parsed.success ? parsed.data.snapshots : []) this.offered(peerId, snapshot);
      },
      () => undefined,
    );
  }

  /** Resolves with the restored height, or null when state sync failed for good. */
  async run(): Promise<number | null> {
    const wait = this.d.config.discovery_time;
    for (const peer of this.d.peers()) this.addPeer(peer);
    if (wait > 0) await this.discover(wait);
    for (;;) {
      const restored = await this.restoreBest();
      if (restored !== null) return restored;
      if (wait === 0) {
        cometLog('error', 'State sync failed', { module: 'statesync', err: 'no suitable snapshots found' });
        return null;
      }
      for (const peer of this.d.peers()) this.addPeer(peer);
      await this.discover(wait);
    }
  }

  private discover(ms: number): Promise<void> {
    cometLog('info', `Discovering snapshots for ${goDuration(ms)}`, { module: 'statesync' });
    return delay(ms, undefined, { signal: this.d.signal });
  }

  private offered(peerId: string, snapshot: Snapshot): void {
    const key = keyOf(snapshot);
    const offer = this.offers.get(key);
    if (offer) return void offer.peers.add(peerId);
    this.offers.set(key, { snapshot, peers: new Set([peerId]) });
    cometLog('info', 'Discovered new snapshot', snapshotFields(snapshot));
  }

  /** The newest snapshot at or above the trust height that verifies and restores, else null. */
  private async restoreBest(): Promise<number | null> {
    const candidates = [...this.offers.values()]
      .filter((o) => o.snapshot.height >= this.d.config.trust_height && !this.rejected.has(keyOf(o.snapshot)))
      .sort((a, b) => b.snapshot.height - a.snapshot.height);
    for (const offer of candidates) {
      const { snapshot } = offer;
      try {
        // The app hash is in the next header, the state's validators in the one after.
        await this.d.light.verify(snapshot.height + 1);
        await this.d.light.verify(snapshot.height + 2);
      } catch (error) {
        cometLog('error', 'Failed to add snapshot', {
          ...snapshotFields(snapshot),
          err: (error as Error).message,
        });
        continue;
      }
      const problem = await this.restore(offer);
      if (problem === null) {
        cometLog('info', 'Snapshot restored', snapshotFields(snapshot));
        return snapshot.height;
      }
      this.rejected.add(keyOf(snapshot));
      cometLog('info', 'Snapshot rejected', { ...snapshotFields(snapshot), err: problem });
    }
    return null;
  }

  /** Fetches every chunk from the peers offering the snapshot; why it failed, or null. */
  private async restore({ snapshot, peers }: Offer): Promise<string | null> {
    cometLog('info', 'Offering snapshot to ABCI app', snapshotFields(snapshot));
    cometLog('info', 'Snapshot accepted, restoring', snapshotFields(snapshot));
    const chunks: Buffer[] = [];
    for (let index = 0; index < snapshot.chunks; index++) {
      const chunk = await this.fetchChunk(snapshot, index, peers);
      if (!chunk) return `no peer served chunk ${index}`;
      chunks.push(chunk);
      cometLog('info', 'Applied snapshot chunk to ABCI app', {
        ...snapshotFields(snapshot),
        chunk: index,
        total: snapshot.chunks,
      });
    }
    return chunksHash(chunks) === snapshot.hash
      ? null
      : 'checksum mismatch: chunks do not match the snapshot hash';
  }

  private async fetchChunk(snapshot: Snapshot, index: number, peers: Set<string>): Promise<Buffer | null> {
    const connected = new Set(this.d.peers());
    for (const peer of [...peers].filter((p) => connected.has(p))) {
      try {
        const answer = ChunkAnswer.parse(
          await this.d.request(
            peer,
            { t: 'chunk', height: snapshot.height, format: snapshot.format, index },
            this.d.config.chunk_request_timeout,
          ),
        );
        if (answer.chunk !== null) return Buffer.from(answer.chunk, 'base64');
      } catch {
        // Re-requested from the next peer, as CometBFT after chunk_request_timeout.
      }
    }
    return null;
  }
}
