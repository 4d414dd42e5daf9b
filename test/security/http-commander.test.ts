/**
 * Finding: the pilot accepted an http:// commander anywhere. Its first request carries the fleet
 * enrollment token, the enrollment reply carries the node secret, and every reply steers the node:
 * all readable and writable by anyone on the path. Plain HTTP is now refused at config load,
 * except on loopback, and `beam-pilot doctor` says so with the fix.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConfigError, EXAMPLE_CONFIG, parseConfig } from '../../pilot/config.js';
import { waitFor } from '../helpers/wait.js';
import { TOKEN } from '../commander/helpers.js';
import { attack } from './kit.js';

const CLI = path.resolve(import.meta.dirname, '../../pilot/cli.ts');
const withUrl = (url: string) => EXAMPLE_CONFIG.replace('url = "https://beam.example.com"', `url = "${url}"`);
/** This machine's first address that is not loopback: where a commander on the network would be. */
const lanAddress = Object.values(os.networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'beam-http-commander-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('an http:// commander URL', () => {
  it('is refused at config load unless on loopback, naming commander.url and the fix', () => {
    for (const url of ['http://beam.example.com', 'http://203.0.113.7:8080/prod', 'http://[2001:db8::7]']) {
      attack(`a pilot config pointing at ${url}`);
      let problems: string[] = [];
      try {
        parseConfig(withUrl(url), 'pilot.toml');
      } catch (error) {
        problems = (error as ConfigError).problems;
      }
      expect(problems, url).toEqual([
        expect.stringMatching(
          /^commander\.url: http:\/\/ is refused for .*: .*node secret.*, so use https:\/\/\S+ \(plain http only for a commander on loopback: 127\.0\.0\.0\/8, \[::1\], localhost\)$/,
        ),
      ]);
    }
    expect(() => parseConfig(withUrl('http://beam.example.com/prod'), 'f')).toThrow(
      /use https:\/\/beam\.example\.com\/prod /,
    );
    for (const url of [
      'https://beam.example.com',
      'http://127.0.0.1:8080',
      'http://127.4.5.6',
      'http://localhost:9',
      'http://[::1]:9',
    ])
      expect(parseConfig(withUrl(url), 'f').commander?.url).toBe(url);
  });

  it('beam-pilot doctor names the problem and its fix', async () => {
    attack('beam-pilot doctor on a config with an http:// commander');
    const file = path.join(dir, 'doctor.toml');
    await fs.writeFile(file, withUrl('http://beam.example.com'), { mode: 0o600 });
    const result = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', CLI, 'doctor', '--config', file],
      {
        timeout: 30_000,
      },
    ).catch((error: { code: number; stdout: string; stderr: string }) => error);
    expect('code' in result ? result.code : 0).toBe(1);
    expect(result.stdout + result.stderr).toMatch(
      /^✗ config .*doctor\.toml: commander\.url: http:\/\/ is refused for beam\.example\.com: .*use https:\/\/beam\.example\.com /m,
    );
  });

  it.skipIf(!lanAddress)('beam-pilot start never sends the enrollment token over it', async () => {
    attack(`beam-pilot start against http://${lanAddress}, where someone on the network listens`);
    const heard: string[] = [];
    const listener: Server = createServer((req, res) => {
      req.on('data', (chunk: Buffer) => heard.push(chunk.toString()));
      req.on('end', () => res.writeHead(202).end('{}'));
    });
    await new Promise<void>((r) => listener.listen(0, lanAddress, () => r()));
    const url = `http://${lanAddress}:${(listener.address() as AddressInfo).port}`;
    const home = path.join(dir, 'home');
    await fs.mkdir(path.join(home, 'config'), { recursive: true });
    await fs.writeFile(path.join(home, 'config', 'config.toml'), '[p2p]\npex = true\n');
    const tokenFile = path.join(dir, 'token');
    await fs.writeFile(tokenFile, TOKEN, { mode: 0o600 });
    const config = [
      '[node]',
      'name = "sentry-9"',
      'role = "sentry"',
      'chain_id = "beam-devnet-1"',
      `state_dir = "${path.join(dir, 'state')}"`,
      '[daemon]',
      'mode = "process"',
      `command = ["${process.execPath}", "-e", "setInterval(() => {}, 1000)"]`,
      `home = "${home}"`,
      'rpc_url = "http://127.0.0.1:9"',
      '[commander]',
      `url = "${url}"`,
      `enrollment_token_file = "${tokenFile}"`,
      'report_interval_ms = 200',
      '[http]',
      'listen = "127.0.0.1:0"',
    ].join('\n');
    const file = path.join(dir, 'start.toml');
    await fs.writeFile(file, config, { mode: 0o600 });
    let stderr = '';
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', CLI, 'start', '--config', file], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr!.on('data', (d) => {
      stderr += d;
    });
    try {
      const code = await waitFor(() => child.exitCode, 'the pilot to refuse its config and exit', {
        timeoutMs: 20_000,
      });
      expect(code).toBe(1);
      expect(stderr).toContain(`commander.url: http:// is refused for ${lanAddress}`);
      expect(heard.join('')).not.toContain(TOKEN);
      expect(heard).toEqual([]);
    } finally {
      child.kill('SIGKILL');
      await new Promise<void>((r) => listener.close(() => r()));
      // The stand-in daemon an older pilot would have started (process group of its own).
      const pidFile = path.join(dir, 'state', 'daemon.pid');
      const pid = await fs
        .readFile(pidFile, 'utf8')
        .then((t) => (JSON.parse(t) as { pid: number }).pid)
        .catch(() => null);
      if (pid) process.kill(-pid, 'SIGKILL');
    }
  });
});
