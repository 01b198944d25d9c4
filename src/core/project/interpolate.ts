import { SlipwayError } from '../../shared/errors';
import { isPlain, OverrideValue } from './compose-yaml';

/** Looks a variable up: its value, or undefined when it is not set. */
export type Lookup = (name: string) => string | undefined;

/** What interpolation reports besides its result: variables used while unset, in the order met. */
export interface InterpolationNotes {
  /** Names of variables that were unset and had no default (each once). */
  unset: string[];
}

const NAME_START = /[_a-zA-Z]/;
const NAME_PART = /[_a-zA-Z0-9]/;

function badFormat(file: string, text: string): SlipwayError {
  return new SlipwayError('E_COMPOSE_INVALID', `${file}: invalid interpolation format in "${text}"`, {
    hint: 'Write ${VAR}, ${VAR:-default} and the like; a literal $ is written $$.',
  });
}

/**
 * Substitutes variables in one string as the Compose specification's interpolation.md says: `$VAR`,
 * `${VAR}`, `${VAR:-d}`, `${VAR-d}`, `${VAR:?e}`, `${VAR?e}`, `${VAR:+r}`, `${VAR+r}`, nested in the
 * default, error or replacement, and `$$` for a literal `$`. An unset variable without default is an
 * empty string (noted in `notes.unset`); the `?` forms throw E_COMPOSE_VARIABLE naming the file.
 */
export function interpolate(text: string, lookup: Lookup, file: string, notes: InterpolationNotes): string {
  if (!text.includes('$')) return text;
  const { value, end } = expand(text, 0, false, true, lookup, file, notes);
  if (end !== text.length) throw badFormat(file, text);
  return value;
}

/**
 * Expands text from `start` up to its end (or, inside braces, up to the unmatched `}`); when `evaluate`
 * is false it only finds the end, so an unused default looks nothing up and raises nothing.
 */
function expand(
  text: string,
  start: number,
  inBraces: boolean,
  evaluate: boolean,
  lookup: Lookup,
  file: string,
  notes: InterpolationNotes,
): { value: string; end: number } {
  let value = '';
  let index = start;
  while (index < text.length) {
    const char = text[index] as string;
    if (inBraces && char === '}') return { value, end: index };
    if (char !== '$') {
      value += char;
      index++;
      continue;
    }
    const next = text[index + 1];
    if (next === '$') {
      value += '$';
      index += 2;
    } else if (next === '{') {
      const braced = expandBraced(text, index + 2, evaluate, lookup, file, notes);
      value += braced.value;
      index = braced.end + 1;
    } else if (next !== undefined && NAME_START.test(next)) {
      let end = index + 2;
      while (end < text.length && NAME_PART.test(text[end] as string)) end++;
      if (evaluate) value += resolve(text.slice(index + 1, end), lookup, notes);
      index = end;
    } else {
      // Not a variable: Compose keeps the $ as it is.
      value += '$';
      index++;
    }
  }
  if (inBraces) throw badFormat(file, text);
  return { value, end: index };
}

function resolve(name: string, lookup: Lookup, notes: InterpolationNotes): string {
  const found = lookup(name);
  if (found !== undefined) return found;
  if (!notes.unset.includes(name)) notes.unset.push(name);
  return '';
}

/** Expands `NAME[op word]}` from just after `${`; `end` is the index of the closing brace. */
function expandBraced(
  text: string,
  start: number,
  evaluate: boolean,
  lookup: Lookup,
  file: string,
  notes: InterpolationNotes,
): { value: string; end: number } {
  let index = start;
  if (!NAME_START.test(text[index] ?? '')) throw badFormat(file, text);
  while (index < text.length && NAME_PART.test(text[index] as string)) index++;
  const name = text.slice(start, index);
  if (text[index] === '}') return { value: evaluate ? resolve(name, lookup, notes) : '', end: index };
  const colon = text[index] === ':';
  const operator = text[colon ? index + 1 : index];
  if (operator !== '-' && operator !== '?' && operator !== '+') throw badFormat(file, text);
  const wordStart = index + (colon ? 2 : 1);
  const found = evaluate ? lookup(name) : undefined;
  const set = found !== undefined;
  const nonEmpty = set && found !== '';
  // Which branch the operator takes decides whether the word is evaluated at all.
  const useWord =
    operator === '-'
      ? colon
        ? !nonEmpty
        : !set
      : operator === '+'
        ? colon
          ? nonEmpty
          : set
        : colon
          ? !nonEmpty
          : !set;
  const word = expand(text, wordStart, true, evaluate && useWord, lookup, file, notes);
  if (!evaluate) return { value: '', end: word.end };
  if (operator === '?') {
    if (useWord) {
      const why = word.value || 'it is not set';
      throw new SlipwayError('E_COMPOSE_VARIABLE', `${file}: required variable ${name} is missing a value: ${why}`, {
        hint: `Set ${name} in the environment or in the project's .env file.`,
      });
    }
    return { value: found ?? '', end: word.end };
  }
  if (operator === '+') return { value: useWord ? word.value : '', end: word.end };
  return { value: useWord ? word.value : (found as string), end: word.end };
}

/**
 * Interpolates every string value of a parsed compose file (never keys: interpolation.md applies it to
 * values only), returning a new tree.
 */
export function interpolateTree(value: unknown, lookup: Lookup, file: string, notes: InterpolationNotes): unknown {
  if (typeof value === 'string') return interpolate(value, lookup, file, notes);
  if (Array.isArray(value)) return value.map((item) => interpolateTree(item, lookup, file, notes));
  if (value instanceof OverrideValue) return new OverrideValue(interpolateTree(value.value, lookup, file, notes));
  if (isPlain(value)) {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) result[key] = interpolateTree(item, lookup, file, notes);
    return result;
  }
  return value;
}
