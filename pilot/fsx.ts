import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';

/** Writes a file so a crash leaves either the old or the new content: temp file, fsync, rename, fsync dir. */
export async function writeFileAtomic(file: string, data: string, mode = 0o600): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await fs.open(tmp, 'w', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, file);
  await syncDir(path.dirname(file));
}

/** Makes a rename in `dir` durable: without it a crash may bring back the old name. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function readJsonFile(file: string): Promise<unknown | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/** Problems with a secret file: missing, readable by others, or owned by another user. One line each, with the fix. */
export async function secretFileProblems(file: string, what: string): Promise<string[]> {
  let stat: import('node:fs').Stats;
  try {
    stat = await fs.stat(file);
  } catch {
    return [`${what} ${file} does not exist: create it (mode 0600, owned by the pilot's user)`];
  }
  const problems: string[] = [];
  if ((stat.mode & 0o077) !== 0) {
    problems.push(`${what} ${file} has mode ${(stat.mode & 0o777).toString(8)}: run chmod 600 ${file}`);
  }
  if (typeof process.getuid === 'function' && stat.uid !== process.getuid()) {
    problems.push(`${what} ${file} is owned by uid ${stat.uid}: run chown $(id -u) ${file}`);
  }
  return problems;
}
