/**
 * Remote signer latency: the bench plays a CometBFT daemon on a unix socket and the pilot's signer,
 * in its own process, answers. Each height asks what a validator's daemon asks (a proposal, a
 * prevote, a precommit with a vote extension), one request at a time, timed from the request's
 * write to its reply's arrival.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignedMsgType } from 'cosmjs-types/tendermint/types/types';
import { timestampFromMs } from '../cometbft/canonical.js';
import { emptyProposal, emptyVote, type PrivvalMessage } from '../cometbft/privval.js';
import { FakeDaemon } from '../test/pilot/signer/daemon.js';
import { type Summary, summarize } from './stats.js';

export interface SignerFigure {
  requests: number;
  refusedOrFailed: number;
  latencyMs: Summary;
  settings: string;
}

const CHAIN = 'beam-bench-1';

function requestsFor(height: number): PrivvalMessage[] {
  const blockId = {
    hash: new Uint8Array(32).fill(height % 251),
    partSetHeader: { total: 1, hash: new Uint8Array(32).fill((height + 1) % 251) },
  };
  const timestamp = timestampFromMs(Date.now());
  const h = BigInt(height);
  const vote = (type: SignedMsgType, extension: Uint8Array) => ({
    ...emptyVote(),
    type,
    height: h,
    blockId,
    timestamp,
    validatorAddress: new Uint8Array(20).fill(7),
    extension,
  });
  return [
    {
      type: 'signProposalRequest',
      chainId: CHAIN,
      proposal: {
        ...emptyProposal(),
        type: SignedMsgType.SIGNED_MSG_TYPE_PROPOSAL,
        height: h,
        polRound: -1,
        blockId,
        timestamp,
      },
    },
    {
      type: 'signVoteRequest',
      chainId: CHAIN,
      skipExtensionSigning: false,
      vote: vote(SignedMsgType.SIGNED_MSG_TYPE_PREVOTE, new Uint8Array()),
    },
    {
      type: 'signVoteRequest',
      chainId: CHAIN,
      skipExtensionSigning: false,
      vote: vote(SignedMsgType.SIGNED_MSG_TYPE_PRECOMMIT, new TextEncoder().encode(`ext-${height}`)),
    },
  ];
}

export async function signerLatency(options: { heights: number }): Promise<SignerFigure> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'beam-bench-signer-'));
  const socket = path.join(dir, 'priv_validator.sock');
  const daemon = await FakeDaemon.listen(socket);
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(import.meta.dirname, 'signer-child.ts'),
      `unix://${socket}`,
      path.join(dir, 'state.json'),
      CHAIN,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const conn = await daemon.connection();
    const pub = await conn.request({ type: 'pubKeyRequest', chainId: CHAIN });
    if (pub.type !== 'pubKeyResponse' || pub.error) throw new Error('the signer did not give its public key');
    const samples: number[] = [];
    let failed = 0;
    for (let height = 1; height <= options.heights; height++) {
      for (const request of requestsFor(height)) {
        const started = performance.now();
        const reply = await conn.request(request);
        samples.push(performance.now() - started);
        const error = 'error' in reply ? reply.error : null;
        if (error) failed++;
      }
    }
    return {
      requests: samples.length,
      refusedOrFailed: failed,
      latencyMs: summarize(samples, 3),
      settings: `${options.heights} heights × (proposal, prevote, precommit with extension), one request in flight, unix socket, signer in its own process, sign state fsync'd on ${os.tmpdir()}`,
    };
  } finally {
    child.kill('SIGTERM');
    await daemon.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
