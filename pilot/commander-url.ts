import { isLoopbackHost } from '../protocol/release.js';

/**
 * Why the pilot will not talk to this commander URL, or null. Enrollment replies carry the node
 * secret and report replies steer the node: over plain HTTP anyone on the path reads or rewrites
 * them. Plain HTTP stays allowed where nothing but this machine is on the path: loopback.
 */
export function commanderUrlProblem(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'use a full URL such as https://beam.example.com';
  }
  if (parsed.protocol === 'https:') return null;
  if (parsed.protocol !== 'http:') return `use https:// (not ${parsed.protocol}//)`;
  const host = parsed.hostname.toLowerCase();
  return isLoopbackHost(host)
    ? null
    : `http:// is refused for ${host}: the enrollment reply carries the node secret and reports steer the node, so use https://${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname} (plain http only for a commander on loopback: 127.0.0.0/8, [::1], localhost)`;
}
