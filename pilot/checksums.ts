import { createHash, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';

/**
 * sha256 digests and SHA256SUMS files (`sha256sum` format: `<64 hex>  <name>` per line), so that a
 * release checked on the node with `sha256sum -c` and by the pilot means the same thing.
 */

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The sha256 of a file, read as a stream (chain binaries are hundreds of MB); null when it does not exist. */
export async function sha256OfFile(file: string): Promise<string | null> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  return hash.digest('hex');
}

/** Two hex digests name the same bytes: compared as bytes, not as text in some letter case. */
export function sameDigest(a: string, b: string): boolean {
  const valid = /^[0-9a-fA-F]{64}$/;
  if (!valid.test(a) || !valid.test(b)) return false;
  return timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}

export function formatSums(files: ReadonlyMap<string, Uint8Array | string>): string {
  return [...files]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, data]) => `${sha256Hex(data)}  ${name}\n`)
    .join('');
}

/** `name → digest` from a SHA256SUMS text; throws naming the first line that is not `<hex>  <name>`. */
export function parseSums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    // sha256sum writes two spaces, or " *" in binary mode.
    const match = /^([0-9a-fA-F]{64}) [ *]([^/\\]+)$/.exec(line);
    if (!match) throw new Error(`SHA256SUMS line ${i + 1} is not "<sha256>  <file name>"`);
    sums.set(match[2] as string, (match[1] as string).toLowerCase());
  }
  return sums;
}

/** What in `files` disagrees with `sums` (a missing or changed file), one line each. */
export function sumProblems(
  sums: ReadonlyMap<string, string>,
  files: ReadonlyMap<string, Uint8Array>,
): string[] {
  const problems: string[] = [];
  for (const [name, digest] of sums) {
    const data = files.get(name);
    if (!data) problems.push(`${name} is missing`);
    else if (!sameDigest(sha256Hex(data), digest))
      problems.push(`${name} does not match its SHA256SUMS line`);
  }
  return problems;
}
