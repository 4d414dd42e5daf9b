/**
 * The chain-wide CometBFT RPC methods, answered by the hub at a node's view: its height, and the
 * oldest block its store still holds (older heights answer CometBFT's "not available" error).
 */
import type { ChainApp, Commit } from './chain/types.js';
import { RpcError, internalError, invalidParams } from './rpcerror.js';
import {
  b64,
  blockJson,
  commitJson,
  hex,
  headerJson,
  indexedTxJson,
  rfc3339,
  validatorJson,
} from './cometjson.js';

export interface ChainView {
  chain: ChainApp;
  /** Latest height this node sees (frozen while partitioned). */
  viewHeight: number;
  /** The lowest block the node's store holds (0: none); older ones are pruned. */
  base: number;
  /** The commit for `height`: canonical when the next block holds it, else the signatures seen so far. */
  commitFor(height: number): { commit: Commit | null; canonical: boolean };
}

type Params = Record<string, unknown>;

function optInt(params: Params, name: string): number | undefined {
  const v = params[name];
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw invalidParams(`${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

function str(params: Params, name: string): string {
  const v = params[name];
  if (typeof v !== 'string') throw invalidParams(`${name} is required (string)`);
  return v;
}

function heightParam(view: ChainView, params: Params): number {
  const h = optInt(params, 'height') ?? view.viewHeight;
  const height = h === 0 ? view.viewHeight : h;
  if (height > view.viewHeight) {
    throw internalError(
      `height ${height} must be less than or equal to the current blockchain height ${view.viewHeight}`,
    );
  }
  if (height < 1) throw internalError('height must be greater than 0');
  return available(view, height);
}

/** CometBFT's getHeight: a height below the store's base was pruned. */
function available(view: ChainView, height: number): number {
  if (height < view.base)
    throw internalError(`height ${height} is not available, lowest height is ${view.base}`);
  return height;
}

function blockAt(view: ChainView, height: number) {
  const block = view.chain.block(height);
  if (!block) throw internalError(`block at height ${height} not found`);
  return block;
}

export function chainRpc(view: ChainView, method: string, params: Params): unknown {
  const { chain } = view;
  switch (method) {
    case 'block': {
      const height = heightParam(view, params);
      return blockJson(
        blockAt(view, height),
        chain.validatorSet(height),
        blockAt(view, height).header.validatorsHash,
      );
    }
    case 'block_results': {
      const height = heightParam(view, params);
      const results = chain.searchTxs(`tx.height=${height}`).sort((a, b) => a.index - b.index);
      return {
        height: String(height),
        txs_results: results.map((t) => indexedTxJson(t).tx_result),
        finalize_block_events: chain.blockEvents(height),
        validator_updates: [],
        consensus_param_updates: null,
        app_hash: hex(blockAt(view, height).header.appHash),
      };
    }
    case 'commit': {
      const height = heightParam(view, params);
      const block = blockAt(view, height);
      const { commit, canonical } = view.commitFor(height);
      return {
        signed_header: {
          header: headerJson(block, block.header.validatorsHash),
          commit: commitJson(commit),
        },
        canonical,
      };
    }
    case 'consensus_params': {
      const height = heightParam(view, params);
      return {
        block_height: String(height),
        consensus_params: {
          block: { max_bytes: '22020096', max_gas: '-1' },
          evidence: {
            max_age_num_blocks: '100000',
            max_age_duration: '172800000000000',
            max_bytes: '1048576',
          },
          validator: { pub_key_types: ['ed25519'] },
          version: { app: '0' },
          abci: { vote_extensions_enable_height: String(chain.params.voteExtensionsEnableHeight ?? 0) },
        },
      };
    }
    case 'validators': {
      // CometBFT's default is the latest uncommitted height, whose set is known; so is its limit.
      const height = available(view, optInt(params, 'height') || view.viewHeight + 1);
      if (height > view.viewHeight + 1)
        throw internalError(
          `height ${height} must be less than or equal to the current blockchain height ${view.viewHeight + 1}`,
        );
      const all = chain.validatorSet(height);
      const perPage = Math.min(optInt(params, 'per_page') ?? 30, 100);
      const page = optInt(params, 'page') ?? 1;
      const validators = all.slice((page - 1) * perPage, page * perPage);
      return {
        block_height: String(height),
        validators: validators.map(validatorJson),
        count: String(validators.length),
        total: String(all.length),
      };
    }
    case 'abci_query': {
      const path = str(params, 'path');
      const dataHex = typeof params.data === 'string' ? params.data.replace(/^0x/i, '') : '';
      if (!/^([0-9a-fA-F]{2})*$/.test(dataHex)) throw invalidParams('data must be hex');
      const r = chain.query(path, Buffer.from(dataHex, 'hex'));
      return {
        response: {
          code: r.code,
          log: r.log,
          info: '',
          index: '0',
          key: null,
          value: b64(r.value),
          proofOps: null,
          height: String(Math.min(r.height, view.viewHeight)),
          codespace: r.codespace,
        },
      };
    }
    case 'broadcast_tx_sync':
    case 'broadcast_tx_async': {
      const tx = Buffer.from(str(params, 'tx'), 'base64');
      if (tx.length === 0) throw invalidParams('tx must be non-empty base64');
      const r = chain.checkTx(tx);
      return { code: r.code, data: '', log: r.log, codespace: r.codespace, hash: hex(r.hash) };
    }
    case 'tx': {
      const hash = Buffer.from(str(params, 'hash'), 'base64');
      const t = chain.txResult(hash);
      if (!t || t.height > view.viewHeight) throw internalError(`tx (${hex(hash)}) not found`);
      return indexedTxJson(t);
    }
    case 'tx_search': {
      const query = str(params, 'query');
      const perPage = Math.min(optInt(params, 'per_page') ?? 30, 100);
      const page = optInt(params, 'page') ?? 1;
      let txs = chain.searchTxs(query).filter((t) => t.height <= view.viewHeight);
      txs.sort((a, b) => a.height - b.height || a.index - b.index);
      if (params.order_by === 'desc') txs = txs.reverse();
      return {
        txs: txs.slice((page - 1) * perPage, page * perPage).map(indexedTxJson),
        total_count: String(txs.length),
      };
    }
    case 'abci_info': {
      const next = chain.block(view.viewHeight + 1);
      const info = chain.info();
      return {
        response: {
          data: 'devnet',
          // The node answers with its binary's version.
          version: '',
          app_version: String(info.appVersion),
          last_block_height: String(view.viewHeight),
          last_block_app_hash: b64(next ? next.header.appHash : info.lastBlockAppHash),
        },
      };
    }
    case 'devnet_sync_info': {
      // Before the first block (or with an empty store), CometBFT reports height 0 with empty hashes.
      const block = view.chain.block(view.viewHeight);
      const first = view.base >= 1 && view.viewHeight >= 1 ? view.chain.block(view.base) : undefined;
      const genesisTime = rfc3339(0).replace(/\.\d+Z$/, 'Z');
      return {
        latest_block_hash: block ? hex(block.hash) : '',
        latest_app_hash: block ? hex(block.header.appHash) : '',
        latest_block_height: String(block?.header.height ?? 0),
        latest_block_time: block ? rfc3339(block.header.timeMs) : genesisTime,
        earliest_block_hash: first ? hex(first.hash) : '',
        earliest_app_hash: first ? hex(first.header.appHash) : '',
        earliest_block_height: String(first?.header.height ?? 0),
        earliest_block_time: first ? rfc3339(first.header.timeMs) : genesisTime,
      };
    }
    case 'devnet_block_hash': {
      // The hash of a block a node fetched and could not execute (its blocksync panic names it).
      const block = chain.block(optInt(params, 'height') ?? 0);
      return { hash: block ? hex(block.hash) : '' };
    }
    default:
      throw new RpcError(
        -32601,
        'Method not found',
        `method ${JSON.stringify(method)} is not served by the devnet`,
      );
  }
}
