/** Bank: balances, transfers with the SDK's coin_spent/coin_received/transfer events, mint, burn. */
import { type MsgSend, MsgSendResponse } from 'cosmjs-types/cosmos/bank/v1beta1/tx';
import { type Coins, addCoin, coinsFrom, coinsString, event, sortedCoins } from './codec.js';
import { type Ctx, moduleAddr } from './context.js';
import { sdk } from './errors.js';
import type { AccountState, State } from './state.js';

export function balanceOf(state: State, address: string, denom: string): bigint {
  return state.balances.get(address)?.get(denom) ?? 0n;
}

/** Creates the account record on first use, as the SDK does when an address first receives coins. */
export function ensureAccount(state: State, address: string): AccountState {
  let account = state.accounts.get(address);
  if (!account) {
    account = { address, accountNumber: state.nextAccountNumber, sequence: 0n, pubkey: null };
    state.nextAccountNumber += 1n;
    state.accounts.set(address, account);
  }
  return account;
}

function credit(state: State, address: string, coins: Coins): void {
  let balance = state.balances.get(address);
  if (!balance) {
    balance = new Map();
    state.balances.set(address, balance);
  }
  for (const [denom, amount] of coins) addCoin(balance, denom, amount);
}

function debit(state: State, address: string, coins: Coins): void {
  const balance = state.balances.get(address) ?? new Map<string, bigint>();
  for (const [denom, amount] of sortedCoins(coins)) {
    const have = balance.get(denom) ?? 0n;
    if (have < amount) {
      throw sdk.insufficientFunds(`spendable balance ${have}${denom} is smaller than ${amount}${denom}`);
    }
  }
  for (const [denom, amount] of coins) addCoin(balance, denom, -amount);
  state.balances.set(address, balance);
}

function isEmpty(coins: Coins): boolean {
  return sortedCoins(coins).length === 0;
}

/** Moves coins; `transfer` events are emitted for account-to-account sends, not module deposits. */
export function send(ctx: Ctx, from: string, to: string, coins: Coins, transferEvent = true): void {
  if (isEmpty(coins)) return;
  debit(ctx.state, from, coins);
  if (!ctx.state.balances.has(to)) ensureAccount(ctx.state, to);
  credit(ctx.state, to, coins);
  const amount = coinsString(coins);
  ctx.events.push(event('coin_spent', { spender: from, amount }));
  ctx.events.push(event('coin_received', { receiver: to, amount }));
  if (transferEvent) ctx.events.push(event('transfer', { recipient: to, sender: from, amount }));
}

export function sendFromModule(ctx: Ctx, module: string, to: string, coins: Coins): void {
  send(ctx, moduleAddr(ctx.state, module), to, coins);
}

export function sendToModule(
  ctx: Ctx,
  from: string,
  module: string,
  coins: Coins,
  transferEvent = true,
): void {
  send(ctx, from, moduleAddr(ctx.state, module), coins, transferEvent);
}

export function moduleToModule(ctx: Ctx, from: string, to: string, coins: Coins): void {
  send(ctx, moduleAddr(ctx.state, from), moduleAddr(ctx.state, to), coins);
}

export function mint(ctx: Ctx, module: string, coins: Coins): void {
  if (isEmpty(coins)) return;
  const to = moduleAddr(ctx.state, module);
  credit(ctx.state, to, coins);
  const amount = coinsString(coins);
  ctx.events.push(event('coinbase', { minter: to, amount }));
  ctx.events.push(event('coin_received', { receiver: to, amount }));
}

/** Devnet control: mints straight into an account (creating it). */
export function fundAccount(state: State, address: string, coins: Coins): void {
  ensureAccount(state, address);
  credit(state, address, coins);
}

export function burn(ctx: Ctx, module: string, coins: Coins): void {
  if (isEmpty(coins)) return;
  const from = moduleAddr(ctx.state, module);
  debit(ctx.state, from, coins);
  ctx.events.push(event('burn', { burner: from, amount: coinsString(coins) }));
}

export function totalSupply(state: State): Coins {
  const supply: Coins = new Map();
  for (const balance of state.balances.values()) for (const [d, a] of balance) addCoin(supply, d, a);
  return supply;
}

/** Validates a msg's coins: positive amounts, valid denoms. */
export function positiveCoins(list: readonly { denom: string; amount: string }[]): Coins {
  for (const c of list) {
    if (
      !/^[a-zA-Z][a-zA-Z0-9/:._-]{2,127}$/.test(c.denom) ||
      !/^\d+$/.test(c.amount) ||
      BigInt(c.amount) <= 0n
    ) {
      throw sdk.invalidCoins(`${c.amount}${c.denom}`);
    }
  }
  return coinsFrom(list);
}

export function handleSend(ctx: Ctx, msg: MsgSend): Uint8Array {
  const coins = positiveCoins(msg.amount);
  send(ctx, msg.fromAddress, msg.toAddress, coins);
  ctx.events.push(event('message', { sender: msg.fromAddress }));
  return MsgSendResponse.encode({}).finish();
}
