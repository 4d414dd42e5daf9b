import { promises as fs } from 'node:fs';
import os from 'node:os';
import type { HostFacts } from '../protocol/index.js';

/** MemTotal / MemAvailable from /proc/meminfo, in bytes. */
export function parseMeminfo(text: string): { total: number; available: number } {
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  };
  return { total: field('MemTotal'), available: field('MemAvailable') };
}

export async function collectHost(daemonHome: string): Promise<HostFacts> {
  let diskFreeBytes = 0;
  let diskTotalBytes = 0;
  try {
    const s = await fs.statfs(daemonHome);
    diskFreeBytes = s.bavail * s.bsize;
    diskTotalBytes = s.blocks * s.bsize;
  } catch {
    // reported as 0: doctor names a missing home
  }
  let mem = { total: os.totalmem(), available: os.freemem() };
  try {
    mem = parseMeminfo(await fs.readFile('/proc/meminfo', 'utf8'));
  } catch {
    // not Linux: os figures
  }
  return {
    diskFreeBytes,
    diskTotalBytes,
    memAvailableBytes: mem.available,
    memTotalBytes: mem.total,
    load1: os.loadavg()[0] ?? 0,
    cpus: Math.max(1, os.cpus().length),
  };
}
