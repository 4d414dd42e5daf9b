// biome-ignore-all lint/suspicious/noTemplateCurlyInString: chain-registry templates hold literal ${…} slots
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { explorerLinks, explorerPages, NO_EXPLORER } from '../../commander/domain/explorer.js';
import { parseChainRegistry } from '../../protocol/chain-registry.js';

const chain = (name: string) => {
  const file = new URL(`../fixtures/chain-registry/${name}.json`, import.meta.url);
  return parseChainRegistry(readFileSync(file, 'utf8'), file.pathname);
};

describe('explorer links from chain-registry templates', () => {
  it("takes each page from the chain's first explorer that has it, filling the known Mintscan paths", () => {
    const pages = explorerPages(chain('cosmoshub'));
    expect(pages.tx).toBe('https://www.mintscan.io/cosmos/txs/${txHash}');
    expect(pages.account).toBe('https://www.mintscan.io/cosmos/account/${accountAddress}');
    expect(pages.validator).toBe('https://www.mintscan.io/cosmos/validators/${validatorAddress}');
    expect(pages.proposal).toBe('https://www.mintscan.io/cosmos/proposals/${proposalId}');
    expect(
      explorerLinks(pages, {
        tx: 'AB12',
        proposal: '7',
        validator: 'cosmosvaloper1xyz',
        account: 'cosmos1abc',
      }),
    ).toEqual([
      { url: 'https://www.mintscan.io/cosmos/proposals/7', label: 'proposal' },
      { url: 'https://www.mintscan.io/cosmos/txs/AB12', label: 'transaction' },
      { url: 'https://www.mintscan.io/cosmos/validators/cosmosvaloper1xyz', label: 'validator' },
      { url: 'https://www.mintscan.io/cosmos/account/cosmos1abc', label: 'account' },
    ]);
  });

  it("prefers the operator's own templates, and links only what the message is about", () => {
    const pages = explorerPages(chain('osmosis'), { tx: 'https://scan.example/tx/${txHash}' });
    expect(explorerLinks(pages, { tx: 'FF00' }, { tx: 'vote tx' })).toEqual([
      { url: 'https://scan.example/tx/FF00', label: 'vote tx' },
    ]);
  });

  it('encodes values, and gives no link without a template or a value', () => {
    const pages = explorerPages({ explorers: [] }, { account: 'https://e.example/a/${accountAddress}' });
    expect(explorerLinks(pages, { account: 'a/b?c', tx: 'AA', proposal: null })).toEqual([
      { url: 'https://e.example/a/a%2Fb%3Fc', label: 'account' },
    ]);
    expect(explorerLinks(NO_EXPLORER, { tx: 'AA', proposal: '1' })).toEqual([]);
  });
});
