import { isIPv4 } from 'node:net';
import * as z from 'zod';

/**
 * Pilot releases as the commander names them to pilots (`upgrade-pilot`) and as operators list them
 * in the commander's `pilot.releases`: a version, where the tarball is, and its sha256.
 */

/** A release version: `MAJOR.MINOR.PATCH`, optionally `-prerelease` (semver, no build metadata). */
export const PilotVersion = z
  .string()
  .max(32)
  .regex(/^\d{1,6}\.\d{1,6}\.\d{1,6}(-[0-9A-Za-z.-]{1,20})?$/, 'use a version such as 0.2.0 or 0.2.0-rc.1');
export type PilotVersion = z.infer<typeof PilotVersion>;

/** A sha256 digest as `sha256sum` prints it: 64 lowercase hex characters. */
export const Sha256Hex = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'use the 64 lowercase hex characters of the tarball line in SHA256SUMS');

/** Whether a URL's hostname is this machine: 127.0.0.0/8, [::1] or localhost (plain http is taken only from there). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === 'localhost' || host === '[::1]' || (isIPv4(host) && host.startsWith('127.'));
}

/**
 * Why a pilot must not fetch a release from here, or null. The tarball is code the pilot will run:
 * its sha256 is checked whatever the source, and plain http is taken only from this machine.
 */
export function releaseSourceProblem(source: string): string | null {
  if (source.startsWith('/')) {
    return source.split('/').includes('..') ? 'use an absolute path without ".."' : null;
  }
  if (!URL.canParse(source)) {
    return 'use an https:// URL of the release tarball, or its absolute path on the node';
  }
  const url = new URL(source);
  if (url.protocol === 'https:') return null;
  return url.protocol === 'http:' && isLoopbackHost(url.hostname)
    ? null
    : `use https:// (plain http only on loopback), or an absolute path on the node, not ${url.protocol}//${url.host}`;
}

/** Where pilots fetch a release tarball: an https URL (http on loopback), or an absolute path on the node. */
export const ReleaseSource = z
  .string()
  .min(1)
  .max(1024)
  .superRefine((source, ctx) => {
    const problem = releaseSourceProblem(source);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
