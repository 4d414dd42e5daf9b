/**
 * Explorer links for what Beam posts: transactions, proposals, validators and accounts, from a
 * chain's explorer templates as the Cosmos chain registry writes them (`${txHash}`,
 * `${proposalId}`, `${validatorAddress}`, `${accountAddress}`). Pure.
 */
import * as z from 'zod';
import type { ChatLink } from '../../bots/model.js';
import type { ChainFacts } from '../../protocol/chain-registry.js';

export type ExplorerPage = 'tx' | 'proposal' | 'validator' | 'account';

/** One URL template per page; null where no explorer of the chain has one. */
export type ExplorerPages = Record<ExplorerPage, string | null>;

/** The registry's `${name}` slot (written out so no linter takes it for a template literal). */
const slot = (name: string) => `\${${name}}`;

const PLACEHOLDER: Record<ExplorerPage, string> = {
  tx: slot('txHash'),
  proposal: slot('proposalId'),
  validator: slot('validatorAddress'),
  account: slot('accountAddress'),
};

const LABEL: Record<ExplorerPage, string> = {
  tx: 'transaction',
  proposal: 'proposal',
  validator: 'validator',
  account: 'account',
};

/**
 * Paths of pages the registry often leaves out, for explorers whose URL scheme is well known: Mintscan and
 * ping.pub publish the validator and proposal pages of every chain under the chain's `url`.
 */
const KNOWN_PATHS: Record<string, Record<ExplorerPage, string>> = {
  mintscan: { tx: '/tx/', proposal: '/proposals/', validator: '/validators/', account: '/address/' },
  'ping.pub': { tx: '/tx/', proposal: '/gov/', validator: '/staking/', account: '/account/' },
};

const Template = (page: ExplorerPage, example: string) =>
  z
    .string()
    .regex(/^https?:\/\/\S+$/, `use an http(s) URL such as ${example}`)
    .refine(
      (t) => t.includes(PLACEHOLDER[page]),
      `put ${PLACEHOLDER[page]} where the value goes, e.g. ${example}`,
    )
    .optional();

/** `settings.explorers.<chainId>`: the operator's templates, over the chain registry's (`chain add`). */
export const ExplorerTemplates = z.strictObject({
  tx: Template('tx', `https://www.mintscan.io/cosmos/tx/${PLACEHOLDER.tx}`),
  proposal: Template('proposal', `https://www.mintscan.io/cosmos/proposals/${PLACEHOLDER.proposal}`),
  validator: Template('validator', `https://www.mintscan.io/cosmos/validators/${PLACEHOLDER.validator}`),
  account: Template('account', `https://www.mintscan.io/cosmos/address/${PLACEHOLDER.account}`),
});
export type ExplorerTemplates = z.infer<typeof ExplorerTemplates>;

export const NO_EXPLORER: ExplorerPages = { tx: null, proposal: null, validator: null, account: null };

type RegistryExplorer = ChainFacts['explorers'][number];

function pageOf(e: RegistryExplorer, page: ExplorerPage): string | null {
  const listed = {
    tx: e.txPage,
    proposal: e.proposalPage,
    validator: e.validatorPage,
    account: e.accountPage,
  }[page];
  if (listed?.includes(PLACEHOLDER[page])) return listed;
  const known = e.kind ? KNOWN_PATHS[e.kind.toLowerCase()]?.[page] : undefined;
  return known && e.url ? `${e.url.replace(/\/+$/, '')}${known}${PLACEHOLDER[page]}` : null;
}

/**
 * Each page from the first of the chain's explorers that has it (the registry lists the preferred
 * explorer first), under the operator's own templates where they set one.
 */
export function explorerPages(
  chain: Pick<ChainFacts, 'explorers'> | undefined,
  own: ExplorerTemplates = {},
): ExplorerPages {
  const pick = (page: ExplorerPage) =>
    own[page] ?? (chain?.explorers ?? []).map((e) => pageOf(e, page)).find((p) => p !== null) ?? null;
  return {
    tx: pick('tx'),
    proposal: pick('proposal'),
    validator: pick('validator'),
    account: pick('account'),
  };
}

/** A chain's pages in effect: the settings' templates (at start, `chain add`'s registry facts fill them in). */
export function explorerOf(
  explorers: Readonly<Record<string, ExplorerTemplates>>,
  chainId: string,
): ExplorerPages {
  return explorerPages(undefined, explorers[chainId]);
}

/** The pages a registry chain and the operator's templates give, as templates (settings shape). */
export function templatesOf(
  chain: Pick<ChainFacts, 'explorers'>,
  own: ExplorerTemplates = {},
): ExplorerTemplates {
  const pages = explorerPages(chain, own);
  return Object.fromEntries(Object.entries(pages).filter(([, t]) => t !== null)) as ExplorerTemplates;
}

/** What a message is about, by page. */
export type ExplorerRefs = Partial<Record<ExplorerPage, string | null | undefined>>;

/** Links to every page the refs name and the chain has, labelled by what they show. */
export function explorerLinks(
  pages: ExplorerPages,
  refs: ExplorerRefs,
  label?: Partial<Record<ExplorerPage, string>>,
): ChatLink[] {
  const links: ChatLink[] = [];
  for (const page of ['proposal', 'tx', 'validator', 'account'] as const) {
    const value = refs[page];
    const template = pages[page];
    if (!value || !template) continue;
    links.push({
      url: template.replaceAll(PLACEHOLDER[page], encodeURIComponent(value)),
      label: label?.[page] ?? LABEL[page],
    });
  }
  return links;
}
