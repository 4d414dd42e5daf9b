import { constants, promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * What tells one daemon executable from its replacement: a binary installed over it (new inode,
 * size or mtime) or a link re-pointed at another file (new resolved path).
 */
export interface ExecutableId {
  path: string;
  ino: number;
  size: number;
  mtimeMs: number;
}

/** `command` as spawn runs it (PATH when it has no slash), with every symlink resolved. */
async function resolveCommand(command: string): Promise<string | null> {
  const candidates = command.includes('/')
    ? [command]
    : (process.env['PATH'] ?? '').split(':').map((dir) => path.join(dir || '.', command));
  for (const candidate of candidates) {
    try {
      await fs.access(candidate, constants.X_OK);
      return await fs.realpath(candidate);
    } catch {
      // not this one
    }
  }
  return null;
}

/** The executable `command` names now; null when there is none (e.g. mid-replacement). */
export async function identifyExecutable(command: string): Promise<ExecutableId | null> {
  const file = await resolveCommand(command);
  if (!file) return null;
  try {
    const stat = await fs.stat(file);
    return { path: file, ino: stat.ino, size: stat.size, mtimeMs: stat.mtimeMs };
  } catch {
    return null;
  }
}

export function sameExecutable(a: ExecutableId, b: ExecutableId): boolean {
  return a.path === b.path && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}
