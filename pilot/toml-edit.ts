import type { ConfigPatch } from '../protocol/index.js';

type TomlScalar = string | number | boolean;

/** The patch as flat `section.key -> TOML value` edits, in CometBFT's encoding (lists are comma-joined strings). */
export function patchEdits(patch: ConfigPatch): Map<string, TomlScalar> {
  const edits = new Map<string, TomlScalar>();
  for (const [section, keys] of Object.entries(patch)) {
    for (const [key, value] of Object.entries(keys ?? {})) {
      if (value === undefined) continue;
      edits.set(`${section}.${key}`, Array.isArray(value) ? value.join(',') : (value as TomlScalar));
    }
  }
  return edits;
}

function tomlValue(value: TomlScalar): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

const HEADER = /^\s*\[([A-Za-z0-9_.-]+)\]\s*(#.*)?$/;
const KEY_LINE = /^(\s*)([A-Za-z0-9_-]+)(\s*=\s*)(.*)$/;

/** The value text of a `key = value # comment` line, without a trailing comment outside quotes. */
function splitValue(rest: string): { value: string; comment: string } {
  let quote: string | null = null;
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#') return { value: rest.slice(0, i).trimEnd(), comment: rest.slice(i) };
  }
  return { value: rest.trimEnd(), comment: '' };
}

/**
 * Applies `section.key = value` edits to TOML text line by line. Every other byte stays as it was:
 * a changed key keeps its indentation and trailing comment, an unchanged value is not rewritten,
 * a missing key is added after the last key of its section, a missing section is appended.
 */
export function editToml(text: string, edits: Map<string, TomlScalar>): { text: string; changed: string[] } {
  const lines = text.split('\n');
  const pending = new Map(edits);
  const changed: string[] = [];
  const lastKeyLine = new Map<string, number>();
  let section = '';
  let inMultiline = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const cr = line.endsWith('\r') ? '\r' : '';
    const body = cr ? line.slice(0, -1) : line;
    if (inMultiline) {
      if ((body.match(/"""|'''/g) ?? []).length % 2 === 1) inMultiline = false;
      continue;
    }
    const header = HEADER.exec(body);
    if (header) {
      section = header[1] as string;
      if (!lastKeyLine.has(section)) lastKeyLine.set(section, i);
      continue;
    }
    const kv = KEY_LINE.exec(body);
    if (!kv) continue;
    if ((body.match(/"""|'''/g) ?? []).length % 2 === 1) inMultiline = true;
    lastKeyLine.set(section, i);
    const name = `${section}.${kv[2]}`;
    const next = pending.get(name);
    if (next === undefined) continue;
    pending.delete(name);
    const { value, comment } = splitValue(kv[4] as string);
    const rendered = tomlValue(next);
    if (value === rendered) continue;
    lines[i] = `${kv[1]}${kv[2]}${kv[3]}${rendered}${comment ? ` ${comment}` : ''}${cr}`;
    changed.push(name);
  }
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  // Insert missing keys bottom-up so earlier indexes stay valid.
  const inserts: Array<{ at: number; order: number; line: string }> = [];
  const newSections = new Map<string, string[]>();
  for (const [name, value] of pending) {
    const dot = name.lastIndexOf('.');
    const sec = name.slice(0, dot);
    const line = `${name.slice(dot + 1)} = ${tomlValue(value)}`;
    const at = lastKeyLine.get(sec);
    if (at === undefined) newSections.set(sec, [...(newSections.get(sec) ?? []), line]);
    else inserts.push({ at, order: inserts.length, line: line + (eol === '\r\n' ? '\r' : '') });
    changed.push(name);
  }
  inserts.sort((a, b) => b.at - a.at || b.order - a.order);
  for (const { at, line } of inserts) lines.splice(at + 1, 0, line);
  let out = lines.join('\n');
  for (const [sec, secLines] of newSections) {
    if (!out.endsWith('\n') && out.length > 0) out += eol;
    out += `${eol}[${sec}]${eol}${secLines.join(eol)}${eol}`;
  }
  return { text: out, changed };
}
