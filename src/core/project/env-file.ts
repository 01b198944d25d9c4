import { readFile } from 'node:fs/promises';
import { SlipwayError } from '../../shared/errors';
import { interpolate, type Lookup } from './interpolate';

/** One variable set by an env file, as the project screen lists it. */
export interface EnvFileEntry {
  name: string;
  value: string;
  file: string;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
/** Escapes of a double-quoted value; `\$` is a literal dollar, which interpolation reads as `$$`. */
const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', '"': '"', $: '$$' };

/**
 * Parses the text of an env file as Compose reads `.env` (KEY=VALUE lines, `#` comments, an optional
 * `export`, 'single' quotes literal, "double" quotes with escapes and interpolation, unquoted values
 * trimmed and cut at ` #`). `${VAR}` in a value looks up `outer` (the process environment) first, then
 * the variables set earlier in the file. A bare `KEY` takes its value from `outer`, and is skipped when
 * `outer` has none.
 */
export function parseEnvFile(file: string, text: string, outer: Lookup): EnvFileEntry[] {
  const entries: EnvFileEntry[] = [];
  const own = new Map<string, string>();
  const lookup: Lookup = (name) => outer(name) ?? own.get(name);
  const set = (name: string, value: string) => {
    own.set(name, value);
    const index = entries.findIndex((entry) => entry.name === name);
    if (index !== -1) entries.splice(index, 1);
    entries.push({ name, value, file });
  };
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const line = (lines[index] as string).trim();
    if (line === '' || line.startsWith('#')) continue;
    const body = line.startsWith('export ') ? line.slice(7).trimStart() : line;
    const equals = body.indexOf('=');
    const name = (equals === -1 ? body : body.slice(0, equals)).trim();
    if (!NAME.test(name)) {
      throw new SlipwayError('E_COMPOSE_INVALID', `${file}: line ${index + 1}: "${name}" is not a variable name`, {
        hint: 'Each line of an env file is NAME=VALUE.',
      });
    }
    if (equals === -1) {
      const inherited = outer(name);
      if (inherited !== undefined) set(name, inherited);
      continue;
    }
    let rest = body.slice(equals + 1).trimStart();
    const quote = rest[0];
    if (quote === "'" || quote === '"') {
      // A quoted value may run over several lines, up to its closing quote.
      let closing = findClosing(rest, quote);
      while (closing === -1 && index + 1 < lines.length) {
        index++;
        rest += `\n${lines[index]}`;
        closing = findClosing(rest, quote);
      }
      if (closing === -1) throw new SlipwayError('E_COMPOSE_INVALID', `${file}: ${name}: unterminated ${quote} quote`);
      const inner = rest.slice(1, closing);
      if (quote === "'") set(name, inner);
      else {
        const unescaped = inner.replace(/\\(.)/g, (whole, char: string) => ESCAPES[char] ?? whole);
        set(name, interpolate(unescaped, lookup, file, { unset: [] }));
      }
      continue;
    }
    const comment = rest.search(/\s#/);
    const raw = (comment === -1 ? rest : rest.slice(0, comment)).trim();
    set(name, interpolate(raw, lookup, file, { unset: [] }));
  }
  return entries;
}

function findClosing(text: string, quote: string): number {
  for (let index = 1; index < text.length; index++) {
    if (text[index] === '\\' && quote === '"') index++;
    else if (text[index] === quote) return index;
  }
  return -1;
}

/** Reads an env file; a missing optional file is an empty list, a missing required one an error. */
export async function readEnvFile(file: string, outer: Lookup, required: boolean): Promise<EnvFileEntry[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!required && (code === 'ENOENT' || code === 'ENOTDIR')) return [];
    if (code === 'ENOENT') {
      throw new SlipwayError('E_PROJECT_NOT_FOUND', `No such env file: ${file}`, { hint: 'Check --env-file.' });
    }
    throw new SlipwayError('E_CONTEXT_UNREADABLE', `Cannot read the env file ${file}: ${code ?? String(error)}`, {
      cause: error,
    });
  }
  return parseEnvFile(file, text, outer);
}

/**
 * The variables a compose file is interpolated with: the process environment wins over env files
 * (Compose's precedence), and a later env file over an earlier one.
 */
export interface ComposeEnvironment {
  lookup: Lookup;
  /** Variables the env files set, the last setting of each name. */
  fromFiles: EnvFileEntry[];
}

/** Reads env files in order over the given process environment. */
export async function loadEnvironment(
  processEnv: Record<string, string | undefined>,
  files: { path: string; required: boolean }[],
): Promise<ComposeEnvironment> {
  const outer: Lookup = (name) => processEnv[name];
  const byName = new Map<string, EnvFileEntry>();
  for (const file of files) {
    // A later file sees the earlier files' values.
    const seen: Lookup = (name) => outer(name) ?? byName.get(name)?.value;
    for (const entry of await readEnvFile(file.path, seen, file.required)) {
      byName.delete(entry.name);
      byName.set(entry.name, entry);
    }
  }
  return { lookup: (name) => outer(name) ?? byName.get(name)?.value, fromFiles: [...byName.values()] };
}
