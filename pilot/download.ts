/**
 * Downloads of what the pilot installs (its own releases, the chain binary): streamed chunk by chunk
 * to the caller, bounded in size and time. The caller checks the sha256: what arrives here is not
 * trusted yet.
 */

export interface DownloadLimits {
  timeoutMs: number;
  /** A body above this is refused: its Content-Length first, then as the bytes arrive. */
  maxBytes: number;
  /** What is expected, for the error (e.g. "a release tarball"). */
  what: string;
}

/** Streams `url`'s body (redirects followed) into `sink`; returns its size. */
export async function download(
  url: string,
  limits: DownloadLimits,
  sink: (chunk: Uint8Array) => void | Promise<void>,
): Promise<number> {
  const res = await fetch(url, { signal: AbortSignal.timeout(limits.timeoutMs), redirect: 'follow' });
  if (!res.ok || !res.body) throw new Error(`GET ${url} answered HTTP ${res.status}`);
  const tooBig = () => new Error(`${url} is over ${limits.maxBytes} bytes: not ${limits.what}`);
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (declared > limits.maxBytes) {
    await res.body.cancel();
    throw tooBig();
  }
  let size = 0;
  for await (const chunk of res.body) {
    size += chunk.length;
    if (size > limits.maxBytes) throw tooBig();
    await sink(chunk);
  }
  return size;
}
