import { promises as fs } from 'node:fs';
import type { SocketFacts } from '../protocol/index.js';

/** Kernel TCP state codes as in include/net/tcp_states.h. */
const TCP_STATES: Record<string, string> = {
  '01': 'ESTABLISHED',
  '02': 'SYN_SENT',
  '03': 'SYN_RECV',
  '04': 'FIN_WAIT1',
  '05': 'FIN_WAIT2',
  '06': 'TIME_WAIT',
  '07': 'CLOSE',
  '08': 'CLOSE_WAIT',
  '09': 'LAST_ACK',
  '0A': 'LISTEN',
  '0B': 'CLOSING',
  '0C': 'NEW_SYN_RECV',
};

export interface TcpEntry {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  state: string;
}

/** Each 32-bit word of /proc/net/tcp{,6} addresses is in host (little-endian) byte order. */
function hexWords(hex: string): number[] {
  const bytes: number[] = [];
  for (let w = 0; w < hex.length; w += 8) {
    const word = hex.slice(w, w + 8);
    for (let b = 6; b >= 0; b -= 2) bytes.push(Number.parseInt(word.slice(b, b + 2), 16));
  }
  return bytes;
}

export function decodeAddress(hex: string): string {
  const bytes = hexWords(hex);
  if (bytes.length === 4) return bytes.join('.');
  // IPv4-mapped IPv6 (::ffff:a.b.c.d) reads as the IPv4 address.
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return bytes.slice(12).join('.');
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

/** Parses the text of /proc/net/tcp or /proc/net/tcp6. */
export function parseProcNetTcp(text: string): TcpEntry[] {
  const entries: TcpEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 4) continue;
    const [local, remote, st] = [cols[1] as string, cols[2] as string, cols[3] as string];
    const [la, lp] = local.split(':');
    const [ra, rp] = remote.split(':');
    if (!la || !lp || !ra || !rp) continue;
    entries.push({
      localAddress: decodeAddress(la),
      localPort: Number.parseInt(lp, 16),
      remoteAddress: decodeAddress(ra),
      remotePort: Number.parseInt(rp, 16),
      state: TCP_STATES[st.toUpperCase()] ?? `UNKNOWN_${st}`,
    });
  }
  return entries;
}

export interface FloodThresholds {
  inboundTotal: number;
  synRecv: number;
  perRemote: number;
}

/** States after the daemon closed its end: the kernel finishes them, nobody holds them open. */
const LINGERING = new Set(['FIN_WAIT1', 'FIN_WAIT2', 'CLOSING', 'LAST_ACK', 'TIME_WAIT', 'CLOSE']);

/**
 * Inbound connections = sockets whose local port is the p2p port (listeners excluded). All states are
 * listed by state; `inboundTotal`, per-remote counts and the verdict leave out the lingering ones.
 */
export function summarizeInbound(
  entries: TcpEntry[],
  p2pPort: number,
  thresholds: FloodThresholds,
  p2pHost?: string,
): SocketFacts {
  const inboundByState: Record<string, number> = {};
  const perRemote = new Map<string, number>();
  let inboundTotal = 0;
  for (const e of entries) {
    if (e.localPort !== p2pPort || e.state === 'LISTEN') continue;
    if (p2pHost && e.localAddress !== p2pHost) continue;
    inboundByState[e.state] = (inboundByState[e.state] ?? 0) + 1;
    // Closed by the daemon and only lingering in the kernel: no connection an attacker still holds
    // (a daemon restart during a flood leaves a minute of them, which must not read as a flood).
    if (LINGERING.has(e.state)) continue;
    inboundTotal++;
    perRemote.set(e.remoteAddress, (perRemote.get(e.remoteAddress) ?? 0) + 1);
  }
  const syn = (inboundByState['SYN_RECV'] ?? 0) + (inboundByState['NEW_SYN_RECV'] ?? 0);
  const maxPerRemote = Math.max(0, ...perRemote.values());
  const flooded =
    inboundTotal >= thresholds.inboundTotal ||
    syn >= thresholds.synRecv ||
    maxPerRemote >= thresholds.perRemote;
  return { p2pPort, inboundByState, inboundTotal, distinctRemotes: perRemote.size, flooded };
}

export async function readTcpTables(procRoot = '/proc'): Promise<TcpEntry[]> {
  const out: TcpEntry[] = [];
  for (const file of ['net/tcp', 'net/tcp6']) {
    try {
      out.push(...parseProcNetTcp(await fs.readFile(`${procRoot}/${file}`, 'utf8')));
    } catch {
      // tcp6 is absent when IPv6 is disabled.
    }
  }
  return out;
}
