import { isIPv4, isIPv6 } from 'node:net';
import * as z from 'zod';

/**
 * P2P addresses as CometBFT accepts them. A node refuses to start on one bad `persistent_peers`
 * entry and `dial_peers` fails as a whole, so every address Beam takes in (enrollment), generates
 * (configs) or executes (the pilot) passes this one check.
 */

const EXAMPLE = 'e.g. 203.0.113.9:26656, [2001:db8::9]:26656 or sentry-1.example.com:26656';
const LABEL = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
const UNPRINTABLE = /[\s\p{Cc}]/u;
/** Quoted and cut short: a hostile value never reaches a log or a chat message as raw text. */
const shown = (text: string) => JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);

/** What is wrong with a host (IPv4, bracketed IPv6, or DNS name), or null. */
export function p2pHostProblem(host: string): string | null {
  if (UNPRINTABLE.test(host)) return `host ${shown(host)} contains a space or control character: ${EXAMPLE}`;
  if (host.startsWith('[') || host.endsWith(']')) {
    const inner = host.slice(1, -1);
    return host.startsWith('[') && host.endsWith(']') && !inner.includes('%') && isIPv6(inner)
      ? null
      : `host ${shown(host)} is not a bracketed IPv6 address: write one as [2001:db8::9]`;
  }
  if (host.includes(':'))
    return `host ${shown(host)} has a colon: an IPv6 host goes in brackets, [2001:db8::9]`;
  if (/^[\d.]+$/.test(host)) {
    return isIPv4(host)
      ? null
      : `host ${shown(host)} is not an IPv4 address: use four numbers 0-255, e.g. 203.0.113.9`;
  }
  const labels = host.split('.');
  const dns = host.length <= 253 && labels.every((l) => LABEL.test(l)) && !/^\d+$/.test(labels.at(-1) ?? '');
  return dns
    ? null
    : `host ${shown(host)} is not a DNS name: use letters, digits, dashes and dots, ${EXAMPLE}`;
}

/** What is wrong with `host:port`, or null. */
export function p2pAddressProblem(address: string): string | null {
  // Spaces and control characters end a config value or a peer list where CometBFT reads them.
  if (UNPRINTABLE.test(address)) {
    return `${shown(address)} contains a space or control character: use host:port, ${EXAMPLE}`;
  }
  const colon = address.lastIndexOf(':');
  if (colon <= 0) return `missing :port: use host:port, ${EXAMPLE}`;
  const host = address.slice(0, colon);
  const port = address.slice(colon + 1);
  if (!/^[1-9]\d{0,4}$/.test(port) || Number(port) > 65_535) {
    return `port ${shown(port)} is not a port: use a number from 1 to 65535, ${EXAMPLE}`;
  }
  return p2pHostProblem(host);
}

/** What is wrong with a peer `<node id>@host:port`, or null. */
export function peerAddressProblem(peer: string): string | null {
  const at = peer.indexOf('@');
  if (at < 0 || !/^[0-9a-f]{40}$/.test(peer.slice(0, at))) {
    return 'use <40 lowercase hex node id>@<host>:<port>';
  }
  return p2pAddressProblem(peer.slice(at + 1));
}

const checked = (max: number, problem: (text: string) => string | null) =>
  z
    .string()
    .max(max)
    .superRefine((text, ctx) => {
      const message = problem(text);
      if (message) ctx.addIssue({ code: 'custom', message });
    });

/** A host other nodes dial: IPv4, bracketed IPv6 or DNS name. */
export const P2pHost = checked(255, p2pHostProblem);
/** `host:port` other nodes dial (a node's p2p address, a sentry's external_address). */
export const P2pAddress = checked(261, p2pAddressProblem);
/** A peer as CometBFT writes it: `<node id>@<host>:<port>`. */
export const PeerAddress = checked(302, peerAddressProblem);
