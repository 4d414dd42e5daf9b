/** Log lines in CometBFT's plain format, so a devnet node's log reads like a real node's. */
import { SignedMsgType, type Vote } from 'cosmjs-types/tendermint/types/types';
import { timestampToMs } from '../cometbft/canonical.js';
import { hex, rfc3339 } from './cometjson.js';

/** logfmt: a value with spaces, quotes or `=` is quoted. */
function logValue(value: unknown): string {
  const s = String(value);
  return s === '' || /[\s"=]/.test(s) ? JSON.stringify(s) : s;
}

/** `E[2006-01-02|15:04:05.000] message  key=value …` (UTC). */
export function cometLog(
  level: 'info' | 'error',
  message: string,
  fields: Record<string, unknown> = {},
): void {
  const stamp = new Date().toISOString().replace('T', '|').replace('Z', '');
  const kv = Object.entries(fields).map(([k, v]) => `${k}=${logValue(v)}`);
  const line = `${level === 'error' ? 'E' : 'I'}[${stamp}] ${message.padEnd(44)} ${kv.join(' ')}`.trimEnd();
  if (level === 'error') console.error(line);
  else console.log(line);
}

/** CometBFT's first 6 bytes of a byte slice, zero-padded. */
const fingerprint = (bytes: Uint8Array | undefined) =>
  hex(Buffer.concat([Buffer.from(bytes ?? []), Buffer.alloc(6)]).subarray(0, 6));

/** CometBFT's Vote.String(). */
export function voteString(v: Vote): string {
  const name = v.type === SignedMsgType.SIGNED_MSG_TYPE_PREVOTE ? 'Prevote' : 'Precommit';
  const time = v.timestamp ? rfc3339(timestampToMs(v.timestamp)) : '';
  return `Vote{${v.validatorIndex}:${fingerprint(v.validatorAddress)} ${v.height}/${String(v.round).padStart(2, '0')}/${SignedMsgType[v.type]}(${name}) ${fingerprint(v.blockId?.hash)} ${fingerprint(v.signature)} ${fingerprint(v.extension)} @ ${time}}`;
}
