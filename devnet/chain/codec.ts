/**
 * Encoding helpers shared by the chain modules: SDK decimals (18-place fixed point held as bigint
 * atomics), coin sets, addresses, timestamps, and ABCI events as plain strings.
 */
import { sha256 } from '@cosmjs/crypto';
import { fromBech32, fromHex, toBech32, toHex } from '@cosmjs/encoding';
import type { Any } from 'cosmjs-types/google/protobuf/any';
import type { Timestamp } from 'cosmjs-types/google/protobuf/timestamp';
import type { Duration } from 'cosmjs-types/google/protobuf/duration';

/** One SDK `LegacyDec` unit: decimals are integers scaled by 10^18. */
export const DEC = 10n ** 18n;
/** CometBFT voting power = tokens / powerReduction. */
export const powerReduction = 1_000_000n;

/** Parses "0.05" (or a number) into Dec atomics. */
export function decFrom(value: string | number): bigint {
  // String(0.334) is exact where toFixed(18) would expose binary rounding; exponent forms fall back.
  const text =
    typeof value === 'number'
      ? String(value).includes('e')
        ? value.toFixed(18)
        : String(value)
      : value.trim();
  const match = /^(\d+)(?:\.(\d{0,18})\d*)?$/.exec(text);
  if (!match) throw new Error(`invalid decimal "${text}": expected a non-negative decimal such as 0.05`);
  return BigInt(match[1]!) * DEC + BigInt((match[2] ?? '').padEnd(18, '0'));
}

/** Human form with 18 places, as the SDK prints a LegacyDec ("0.050000000000000000"). */
export function decString(atomics: bigint): string {
  const sign = atomics < 0n ? '-' : '';
  const abs = atomics < 0n ? -atomics : atomics;
  return `${sign}${abs / DEC}.${(abs % DEC).toString().padStart(18, '0')}`;
}

/** Coin sets: denom → amount (integers, or Dec atomics for DecCoins). */
export type Coins = Map<string, bigint>;

export function coinsFrom(list: readonly { denom: string; amount: string }[]): Coins {
  const coins: Coins = new Map();
  for (const c of list) addCoin(coins, c.denom, BigInt(c.amount));
  return coins;
}

export function addCoin(coins: Coins, denom: string, amount: bigint): void {
  const next = (coins.get(denom) ?? 0n) + amount;
  if (next === 0n) coins.delete(denom);
  else coins.set(denom, next);
}

export function addCoins(into: Coins, other: Coins): void {
  for (const [denom, amount] of other) addCoin(into, denom, amount);
}

export function sortedCoins(coins: Coins): [string, bigint][] {
  return [...coins].filter(([, a]) => a !== 0n).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** SDK coin string: "10stake,5uatom" sorted by denom. */
export function coinsString(coins: Coins): string {
  return sortedCoins(coins)
    .map(([d, a]) => `${a}${d}`)
    .join(',');
}

export function coinList(coins: Coins): { denom: string; amount: string }[] {
  return sortedCoins(coins).map(([denom, amount]) => ({ denom, amount: amount.toString() }));
}

/** DecCoins on the wire: amounts are Dec atomics as integer strings. */
export const decCoinList = coinList;

/** Integer part of DecCoins (what a withdrawal pays out). */
export function truncateDecCoins(coins: Coins): Coins {
  const out: Coins = new Map();
  for (const [denom, amount] of coins) if (amount >= DEC) out.set(denom, amount / DEC);
  return out;
}

function consensusAddressBytes(pubkey: Uint8Array): Uint8Array {
  return sha256(pubkey).slice(0, 20);
}

/** Uppercase hex of the first 20 bytes of sha256(ed25519 pubkey), as CometBFT names validators. */
export function consensusAddress(pubkey: Uint8Array): string {
  return toHex(consensusAddressBytes(pubkey)).toUpperCase();
}

/** `<prefix>valcons1…` form of an uppercase-hex consensus address. */
export function valconsAddress(consensusHex: string, bech32Prefix: string): string {
  return toBech32(`${bech32Prefix}valcons`, fromHex(consensusHex));
}

/**
 * fromBech32 with an explicit length limit: @cosmjs/encoding 0.39 defaults the limit to Infinity,
 * which the installed @scure/base rejects ("expected safe integer").
 */
export function decodeBech32(address: string): { prefix: string; data: Uint8Array } {
  return fromBech32(address, 1023);
}

export function rebech(address: string, prefix: string): string {
  return toBech32(prefix, decodeBech32(address).data);
}

const moduleAddresses = new Map<string, string>();

/** Module account address: sha256(name)[:20], as authtypes.NewModuleAddress (memoized: every block asks). */
export function moduleAddress(name: string, prefix: string): string {
  const key = `${prefix}/${name}`;
  let address = moduleAddresses.get(key);
  if (!address) {
    address = toBech32(prefix, sha256(new TextEncoder().encode(name)).slice(0, 20));
    moduleAddresses.set(key, address);
  }
  return address;
}

export function timestamp(ms: number): Timestamp {
  const seconds = Math.floor(ms / 1000);
  return { seconds: BigInt(seconds), nanos: (ms - seconds * 1000) * 1_000_000 };
}

export function timestampMs(ts: Timestamp | undefined): number | null {
  if (!ts) return null;
  return Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1_000_000);
}

export function duration(ms: number): Duration {
  const seconds = Math.floor(ms / 1000);
  return { seconds: BigInt(seconds), nanos: (ms - seconds * 1000) * 1_000_000 };
}

/** RFC 3339 time as Go prints it in event attributes. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

export interface AbciEvent {
  type: string;
  attributes: { key: string; value: string; index: boolean }[];
}

export function event(type: string, attrs: Record<string, string>): AbciEvent {
  return { type, attributes: Object.entries(attrs).map(([key, value]) => ({ key, value, index: true })) };
}

export interface Encoder<T> {
  encode(message: T): { finish(): Uint8Array };
}

export function packAny<T>(typeUrl: string, codec: Encoder<T>, message: T): Any {
  return { typeUrl, value: codec.encode(message).finish() };
}
