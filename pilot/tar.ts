/**
 * The few tar (ustar) features a release needs, so that neither building a release nor installing
 * one on a node depends on a tar binary: regular files in one folder, read back as name → bytes.
 * Written deterministically (fixed owner and time), so one version always packs to one sha256.
 */

const BLOCK = 512;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: string, size: number, mode: number, type: '0' | '5'): Buffer {
  const h = Buffer.alloc(BLOCK);
  if (Buffer.byteLength(name) > 100) throw new Error(`tar: name too long: ${name}`);
  h.write(name, 0, 'utf8');
  h.write(octal(mode, 8), 100);
  h.write(octal(0, 8), 108); // uid
  h.write(octal(0, 8), 116); // gid
  h.write(octal(size, 12), 124);
  h.write(octal(0, 12), 136); // mtime: fixed, for reproducible tarballs
  h.write(' '.repeat(8), 148);
  h.write(type, 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

const padding = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

/** A tar of `dir/` holding `files` (name → bytes and mode), in the order given. */
export function packTar(
  dir: string,
  files: ReadonlyArray<{ name: string; data: Uint8Array; mode: number }>,
): Buffer {
  const parts: Buffer[] = [header(`${dir}/`, 0, 0o755, '5')];
  for (const f of files) {
    parts.push(
      header(`${dir}/${f.name}`, f.data.length, f.mode, '0'),
      Buffer.from(f.data),
      padding(f.data.length),
    );
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

function text(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? raw.length : end).toString('utf8');
}

function number(block: Buffer, start: number, length: number): number {
  const value = text(block, start, length).trim();
  return value === '' ? 0 : Number.parseInt(value, 8);
}

/** `path` of a pax extended header, the one record that changes what the next entry is called. */
function paxPath(data: Buffer): string | null {
  let rest = data.toString('utf8');
  while (rest.length > 0) {
    const space = rest.indexOf(' ');
    const length = Number(rest.slice(0, space));
    if (!(length > 0)) return null;
    const record = rest.slice(space + 1, length - 1);
    if (record.startsWith('path=')) return record.slice(5);
    rest = rest.slice(length);
  }
  return null;
}

/**
 * Every regular file of a tar, by its path. Throws on a damaged archive. Headers GNU tar or pax
 * writers add (long names, extended attributes) are understood or skipped; links and devices
 * are ignored: a release holds none.
 */
export function readTar(tar: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let offset = 0;
  let nextName: string | null = null;
  while (offset + BLOCK <= tar.length) {
    const h = tar.subarray(offset, offset + BLOCK);
    if (h.every((b) => b === 0)) return files;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (h[i] as number);
    if (sum !== number(h, 148, 8)) throw new Error(`tar: damaged header at byte ${offset}`);
    const size = number(h, 124, 12);
    const type = String.fromCharCode(h[156] as number);
    const start = offset + BLOCK;
    if (start + size > tar.length) throw new Error('tar: truncated archive');
    const data = tar.subarray(start, start + size);
    offset = start + size + padding(size).length;
    if (type === 'x') nextName = paxPath(data) ?? nextName;
    else if (type === 'L') nextName = text(data, 0, data.length);
    else {
      const prefix = text(h, 345, 155);
      const name = nextName ?? (prefix ? `${prefix}/${text(h, 0, 100)}` : text(h, 0, 100));
      nextName = null;
      if (type === '0' || type === '\0') files.set(name, Buffer.from(data));
    }
  }
  throw new Error('tar: no end-of-archive marker (truncated download?)');
}
