/**
 * `[daemon.binary]`: the chain binary a new machine installs before its daemon's first start, from a
 * loopback HTTP server: a good checksum installs it (0755, atomically), a bad one installs nothing and
 * names both digests, the chain registry's `?checksum=sha256:` counts as the sha256.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseChainRegistry } from '../../protocol/chain-registry.js';
import {
  BinaryKeeper,
  type BinarySpec,
  binaryProblem,
  binarySpec,
  installBinary,
  resolveBinary,
} from '../../pilot/binary-install.js';
import { type ConfigError, parseConfig } from '../../pilot/config.js';
import { download } from '../../pilot/download.js';
import { exampleConfigFor } from '../../pilot/init-chain.js';

const BINARY = Buffer.concat([Buffer.from('#!/bin/sh\necho devnetd\n'), randomBytes(300_000)]);
const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const SHA = sha(BINARY);
const OTHER = sha(Buffer.from('something else'));

let server: Server;
let base: string;
let dir: string;
/** Paths the server was asked for, with their query strings. */
const asked: string[] = [];

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pilot-binary-'));
  server = createServer((req, res) => {
    asked.push(req.url ?? '');
    const route = (req.url ?? '').split('?')[0];
    if (route === '/gaiad') res.end(BINARY);
    else if (route === '/gaiad.tar.gz') res.end(gzipSync(BINARY));
    else if (route === '/big') {
      res.writeHead(200, { 'content-length': String(10_000) });
      res.end(Buffer.alloc(10_000));
    } else if (route === '/chunked') {
      res.write(Buffer.alloc(6_000));
      res.end(Buffer.alloc(6_000));
    } else {
      res.writeHead(404);
      res.end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await fs.rm(dir, { recursive: true, force: true });
});

const spec = (file: string, over: Partial<BinarySpec> = {}): BinarySpec => ({
  url: `${base}/gaiad`,
  sha256: SHA,
  path: path.join(dir, file, 'bin', 'gaiad'),
  timeoutMs: 10_000,
  ...over,
});
const leftovers = async (file: string) => fs.readdir(path.dirname(file)).catch(() => [] as string[]);

/** A minimal valid pilot config with `binary` lines under [daemon.binary] (and more TOML after). */
function config(binary: string, extra = ''): string {
  return `[node]
name = "sentry-9"
role = "sentry"
chain_id = "beam-devnet-1"
state_dir = "${dir}/state"

[daemon]
mode = "process"
command = ["${dir}/node/bin/gaiad", "start"]
home = "${dir}/node"

[daemon.binary]
${binary}
${extra}`;
}

describe('chain binary install', () => {
  it('installs a good binary with mode 0755 and leaves a present one alone', async () => {
    const s = spec('good');
    asked.length = 0;
    expect(await binaryProblem(s)).toMatch(/does not exist: the pilot installs it/);
    expect(await installBinary(s)).toMatch(
      /^installed .*gaiad from http.* \(sha256 [0-9a-f]{64} verified; it was missing\)$/,
    );
    expect(await fs.readFile(s.path)).toEqual(BINARY);
    expect((await fs.stat(s.path)).mode & 0o777).toBe(0o755);
    expect(await leftovers(s.path)).toEqual(['gaiad']);
    expect(await binaryProblem(s)).toBeNull();
    expect(await installBinary(s)).toMatch(/is the configured binary/);
    expect(asked).toEqual(['/gaiad']);
  });

  it('replaces a binary with another sha256, and says what it had', async () => {
    const s = spec('replace');
    await fs.mkdir(path.dirname(s.path), { recursive: true });
    await fs.writeFile(s.path, 'old binary', { mode: 0o755 });
    expect(await binaryProblem(s)).toMatch(
      new RegExp(`has sha256 ${sha(Buffer.from('old binary'))}, not ${SHA} \\(\\[daemon.binary\\] sha256\\)`),
    );
    expect(await installBinary(s)).toMatch(/it had sha256 [0-9a-f]{64}\)$/);
    expect(await fs.readFile(s.path)).toEqual(BINARY);
  });

  it('installs nothing on a bad checksum and names both digests; the old file stays as it was', async () => {
    const s = spec('bad', { sha256: OTHER });
    await expect(installBinary(s)).rejects.toThrow(
      `${base}/gaiad has sha256 ${SHA}, not the configured ${OTHER} ([daemon.binary] sha256): nothing installed at ${s.path}`,
    );
    expect(await leftovers(s.path)).toEqual([]);
    await fs.writeFile(s.path, 'old binary', { mode: 0o755 });
    await expect(installBinary(s)).rejects.toThrow(/nothing installed/);
    expect(await fs.readFile(s.path, 'utf8')).toBe('old binary');
    expect(await leftovers(s.path)).toEqual(['gaiad']);
  });

  it('takes the chain registry URL: ?checksum=sha256:<hex> is the sha256 and is not sent to the server', async () => {
    const file = path.join(dir, 'registry', 'bin', 'gaiad');
    const resolved = resolveBinary(
      { url: `${base}/gaiad?checksum=sha256:${SHA.toUpperCase()}`, path: file, download_timeout_ms: 10_000 },
      null,
    );
    expect(resolved).toEqual({ url: `${base}/gaiad`, sha256: SHA, path: file, timeoutMs: 10_000 });
    asked.length = 0;
    await installBinary(resolved as BinarySpec);
    expect(asked).toEqual(['/gaiad']);
    expect(await fs.readFile(file)).toEqual(BINARY);
    // Other query parameters are the server's: they stay.
    expect(
      resolveBinary(
        { url: `${base}/gaiad?token=x&checksum=sha256:${SHA}`, path: file, download_timeout_ms: 1 },
        null,
      ),
    ).toMatchObject({ url: `${base}/gaiad?token=x`, sha256: SHA });
  });

  it('refuses an HTTP error, an archive and a body over the size cap, installing nothing', async () => {
    await expect(installBinary(spec('missing', { url: `${base}/nope` }))).rejects.toThrow(
      `GET ${base}/nope answered HTTP 404`,
    );
    const gz = gzipSync(BINARY);
    const archive = spec('archive', { url: `${base}/gaiad.tar.gz`, sha256: sha(gz) });
    await expect(installBinary(archive)).rejects.toThrow(
      /is a gzip archive: Beam installs the executable itself, so point daemon.binary.url at the binary/,
    );
    expect(await leftovers(archive.path)).toEqual([]);
    const limits = { timeoutMs: 5_000, maxBytes: 8_000, what: 'a chain binary' };
    // By its Content-Length before a byte is read, and by its bytes when it declares none.
    await expect(download(`${base}/big`, limits, () => undefined)).rejects.toThrow(
      `${base}/big is over 8000 bytes: not a chain binary`,
    );
    let got = 0;
    await expect(
      download(`${base}/chunked`, limits, (chunk) => {
        got += chunk.length;
      }),
    ).rejects.toThrow(/is over 8000 bytes/);
    expect(got).toBeLessThanOrEqual(8_000);
  });

  it('installs in the background, the daemon held meanwhile; retries a failure after its backoff', async () => {
    let now = 0;
    const logged: string[] = [];
    const s = spec('keeper', { url: `${base}/nope` });
    // A download an exiting pilot cut short is cleared away first.
    await fs.mkdir(path.dirname(s.path), { recursive: true });
    await fs.writeFile(path.join(path.dirname(s.path), '.gaiad.0badf00d.download'), 'part');
    const keeper = new BinaryKeeper(
      s,
      { info: (m) => logged.push(m), error: (m) => logged.push(m) },
      () => now,
    );
    expect(keeper.problem).toBe(`the chain binary is being installed from ${base}/nope`);
    expect(keeper.failed).toBeNull();
    keeper.begin();
    keeper.begin(); // one install at a time
    await keeper.settled();
    expect(keeper.problem).toMatch(/^the chain binary is not installed: GET .* answered HTTP 404/);
    expect(keeper.failed).toBe(keeper.problem);
    expect(logged.at(-1)).toMatch(/trying again in \d+ s$/);
    expect(await leftovers(s.path)).toEqual([]);
    (s as { url: string }).url = `${base}/gaiad`;
    keeper.retryIfDue();
    await keeper.settled();
    expect(keeper.failed).not.toBeNull(); // not due yet
    now = 31_000;
    keeper.retryIfDue();
    await keeper.settled();
    expect(keeper.problem).toBeNull();
    expect(await fs.readFile(s.path)).toEqual(BINARY);
  });
});

describe('[daemon.binary] in the pilot config', () => {
  const problems = (text: string) => {
    try {
      parseConfig(text, 'pilot.toml');
      return [];
    } catch (error) {
      return (error as ConfigError).problems;
    }
  };

  it('resolves url, sha256 and path; with cosmovisor the path defaults to its genesis bin', () => {
    const cfg = parseConfig(
      config(`url = "${base}/gaiad"\nsha256 = "${SHA}"\npath = "${dir}/node/bin/gaiad"`),
      'p',
    );
    expect(binarySpec(cfg)).toEqual({
      url: `${base}/gaiad`,
      sha256: SHA,
      path: `${dir}/node/bin/gaiad`,
      timeoutMs: 600_000,
    });
    const cosmovisor = parseConfig(
      config(`url = "${base}/gaiad?checksum=sha256:${SHA}"`, '[daemon.cosmovisor]\nname = "gaiad"'),
      'p',
    );
    expect(binarySpec(cosmovisor)?.path).toBe(`${dir}/node/cosmovisor/genesis/bin/gaiad`);
  });

  it('names the key and the fix for each problem', () => {
    expect(problems(config(`url = "${base}/gaiad"\npath = "/x/gaiad"`))).toEqual([
      expect.stringMatching(/^daemon\.binary\.sha256: missing: add sha256 = .*\?checksum=sha256:<64 hex>/),
    ]);
    expect(
      problems(config(`url = "${base}/gaiad?checksum=sha256:${SHA}"\nsha256 = "${OTHER}"\npath = "/x/g"`)),
    ).toEqual([
      `daemon.binary.sha256: ${OTHER} differs from the url's ?checksum=sha256:${SHA}: keep one of them`,
    ]);
    expect(problems(config(`url = "http://10.0.0.5/gaiad"\nsha256 = "${SHA}"\npath = "/x/g"`))).toEqual([
      'daemon.binary.url: use https:// (plain http only on loopback), not http://10.0.0.5',
    ]);
    expect(problems(config(`url = "${base}/gaiad?checksum=md5:1f"\npath = "/x/g"`))).toEqual([
      expect.stringMatching(/^daemon\.binary\.url: \?checksum=md5:1f: Beam checks sha256/),
    ]);
    expect(problems(config(`url = "${base}/gaiad"\nsha256 = "${SHA}"`))).toEqual([
      expect.stringMatching(/^daemon\.binary\.path: missing: set where the binary goes/),
    ]);
    expect(problems(config(`url = "${base}/gaiad"\nsha256 = "${SHA}"\npath = "bin/gaiad"`))).toEqual([
      'daemon.binary.path: use an absolute path: the executable the daemon runs',
    ]);
  });

  it('beam-pilot init --chain fills the registry binary of the platform into the commented example', () => {
    const fixtures = path.resolve(import.meta.dirname, '../fixtures/chain-registry');
    const read = (name: string) =>
      fs.readFile(path.join(fixtures, name), 'utf8').then((t) => parseChainRegistry(t, name));
    return Promise.all([read('osmosis.json'), read('cosmoshub.json')]).then(([osmosis, hub]) => {
      const text = exampleConfigFor(osmosis, 'linux/arm64');
      expect(text).toContain(
        '# url = "https://github.com/osmosis-labs/osmosis/releases/download/v15.2.0/osmosisd-15.2.0-linux-arm64"',
      );
      expect(text).toContain(
        '# sha256 = "e158d30707a0ea51482237f99676223e81ce5a353966a5c83791d2662a930f35"   # from the registry',
      );
      parseConfig(text, 'pilot.toml'); // still the valid example
      const gaia = exampleConfigFor(hub, 'linux/amd64');
      expect(gaia).toContain('gaiad-v9.0.1-linux-amd64"');
      expect(gaia).toMatch(/^# sha256 = "<64 hex>" .*the registry lists none$/m);
      // A platform the registry lists no binary for keeps the example's placeholder.
      expect(exampleConfigFor(hub, 'darwin/arm64')).toContain('gaiad-v19.0.0-linux-amd64');
    });
  });
});
