import { fstatSync, readSync } from 'node:fs';
import { setImmediate } from 'node:timers/promises';
import { SlipwayError } from '../../shared/errors';
import { entryEndBytes, INDEX_ENTRY_BYTES } from './spool';

/**
 * Search of a task's log through open descriptors of its log and index: on the engine's thread for
 * plain text, in a search worker (search-worker.ts) for regular expressions, which the user writes and
 * which may take exponential time (see search-host.ts). The descriptors belong to the caller, who
 * closes them: a worker that is terminated mid-search would leak what it opened.
 */

/** Search answers at most this many lines unless asked for fewer or more. */
export const DEFAULT_SEARCH_LIMIT_LINES = 10_000;
/**
 * Search reads the log in pieces of this size, cut back to the last whole line: small enough that the
 * piece is still in the CPU's cache when it is searched, large enough for a whole capped line.
 */
const SEARCH_CHUNK_BYTES = 256 * 1024;
/** Search lets other work run after reading this much (its reads block the thread they run on). */
const SEARCH_YIELD_BYTES = 8 * 1024 * 1024;
/** The line locator reads the index in blocks of this many entries. */
const INDEX_BLOCK_ENTRIES = 64 * 1024;

/** The lines of a task's log that are complete on disk, and the byte offset where the last one ends. */
export function completeExtent(indexFd: number, logBytes: number): { lines: number; bytes: number } {
  let lines = Math.floor(fstatSync(indexFd).size / INDEX_ENTRY_BYTES);
  const entry = Buffer.alloc(INDEX_ENTRY_BYTES);
  while (lines > 0) {
    readSync(indexFd, entry, 0, INDEX_ENTRY_BYTES, (lines - 1) * INDEX_ENTRY_BYTES);
    const bytes = entryEndBytes(entry, 0);
    if (bytes <= logBytes) return { lines, bytes };
    lines -= 1;
  }
  return { lines: 0, bytes: 0 };
}

/**
 * Finds the line that holds a byte offset, for offsets asked in increasing order. It walks the index
 * forward a block at a time and skips a block after reading only its last entry, so a search with few
 * matches reads almost none of the index and one with many reads it once. Its reads are small and
 * synchronous, like the search's (see searchLog).
 */
class LineLocator {
  private block = Buffer.alloc(0);
  private blockFirstLine = 0;
  private blockLines = 0;
  private readonly probe = Buffer.alloc(INDEX_ENTRY_BYTES);

  constructor(
    private readonly indexFd: number,
    private readonly totalLines: number,
  ) {}

  lineAt(offsetBytes: number): number {
    while (this.blockLines === 0 || entryEndBytes(this.block, this.blockLines - 1) <= offsetBytes) {
      const next = this.blockFirstLine + this.blockLines;
      if (next >= this.totalLines) return this.totalLines - 1;
      const lines = Math.min(INDEX_BLOCK_ENTRIES, this.totalLines - next);
      readSync(this.indexFd, this.probe, 0, INDEX_ENTRY_BYTES, (next + lines - 1) * INDEX_ENTRY_BYTES);
      this.blockFirstLine = next;
      if (entryEndBytes(this.probe, 0) <= offsetBytes) {
        // The whole block ends before the offset: remember only its extent.
        this.block = Buffer.from(this.probe);
        this.blockFirstLine = next + lines - 1;
        this.blockLines = 1;
        continue;
      }
      if (this.block.length < lines * INDEX_ENTRY_BYTES) this.block = Buffer.alloc(lines * INDEX_ENTRY_BYTES);
      readSync(this.indexFd, this.block, 0, lines * INDEX_ENTRY_BYTES, next * INDEX_ENTRY_BYTES);
      this.blockLines = lines;
    }
    // The first entry of the block whose end lies past the offset.
    let low = 0;
    let high = this.blockLines - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (entryEndBytes(this.block, middle) <= offsetBytes) low = middle + 1;
      else high = middle;
    }
    return this.blockFirstLine + low;
  }
}

export interface SearchResult {
  /** Line numbers (from 0) of the matching lines, in order. */
  matches: number[];
  /** True when there were more matching lines than the limit. */
  truncated: boolean;
}

/** A query as the user gave it: text, or the source of a regular expression. */
export interface SearchQuery {
  query: string;
  regex: boolean;
  limitLines: number;
}

/** Compiles a user's regular expression, or refuses it with E_BAD_INPUT. */
export function userPattern(query: string, flags: string): RegExp {
  try {
    return new RegExp(query, flags);
  } catch (error) {
    throw new SlipwayError('E_BAD_INPUT', `Not a valid regular expression: ${query}`, { cause: error });
  }
}

/**
 * Finds the lines of a task's log that contain `query` (or match it, as a regular expression), reading
 * the file in large pieces and never holding more than one. Line numbers come from the index, so the
 * text is never split into lines. Case-sensitive; a match counts once per line. Between pieces it
 * yields, and stops with `signal`.
 */
export async function searchDescriptors(
  indexFd: number,
  logFd: number,
  { query, regex, limitLines: limit }: SearchQuery,
  signal?: AbortSignal,
): Promise<SearchResult> {
  const pattern = regex ? userPattern(query, 'gm') : null;
  const matches: number[] = [];
  // Lines never hold a newline, so a text with one matches nothing.
  if (!pattern && query.includes('\n')) return { matches, truncated: false };
  // A regular expression that needs a literal is searched for that literal first, and only the lines
  // that hold it are tried: most of the file is then scanned at the speed of a text search.
  const literal = pattern ? requiredLiteral(query) : query;
  const lineTest = pattern && literal ? new RegExp(query) : null;
  const needle = Buffer.from(literal ?? '');
  const extent = completeExtent(indexFd, fstatSync(logFd).size);
  const locator = new LineLocator(indexFd, extent.lines);
  const chunk = Buffer.allocUnsafe(SEARCH_CHUNK_BYTES);
  let finder: NeedleFinder | null = null;
  let position = 0;
  let sinceYieldBytes = 0;
  while (position < extent.bytes) {
    // Synchronous reads of a cached file cost a third of what a round trip through the thread pool
    // does; yielding every few megabytes keeps the process answering meanwhile.
    const bytesRead = readSync(logFd, chunk, 0, Math.min(chunk.length, extent.bytes - position), position);
    if (bytesRead === 0) break;
    finder ??= new NeedleFinder(needle, chunk.subarray(0, bytesRead));
    const lastNewline = chunk.lastIndexOf(10, bytesRead - 1);
    // A piece ends at its last whole line; a line longer than a piece is searched in pieces.
    const length = lastNewline === -1 ? bytesRead : lastNewline + 1;
    const found =
      pattern && !lineTest
        ? searchText(chunk, length, position, pattern, locator, matches, limit)
        : searchBytes(chunk, length, position, finder, lineTest, locator, matches, limit);
    if (found === 'full') return { matches, truncated: true };
    position += length;
    sinceYieldBytes += length;
    if (sinceYieldBytes >= SEARCH_YIELD_BYTES) {
      sinceYieldBytes = 0;
      await setImmediate();
      signal?.throwIfAborted();
    }
  }
  return { matches, truncated: false };
}

function addMatch(
  offsetBytes: number,
  locator: LineLocator,
  matches: number[],
  limit: number,
): 'full' | 'added' | 'same' {
  const line = locator.lineAt(offsetBytes);
  if (matches.length > 0 && matches[matches.length - 1] === line) return 'same';
  if (matches.length >= limit) return 'full';
  matches.push(line);
  return 'added';
}

/** Below one occurrence in this many bytes, jumping between a needle's rarest byte beats substring search. */
const RARE_BYTE_GAP = 256;

/**
 * Finds a byte string by its rarest byte, as grep does: memchr-speed jumps from one occurrence of
 * that byte to the next, each checked for the whole needle. Rareness is judged on the first piece of
 * the log; when even the rarest byte is common, the native substring search (Boyer-Moore) is used.
 */
class NeedleFinder {
  private readonly rareAt: number;
  private readonly rareByte: number;
  private readonly byRareByte: boolean;

  constructor(
    private readonly needle: Buffer,
    sample: Buffer,
  ) {
    const counts = new Uint32Array(256);
    for (let i = 0; i < sample.length; i++) {
      const byte = sample[i] as number;
      counts[byte] = (counts[byte] as number) + 1;
    }
    let rareAt = 0;
    for (let i = 1; i < needle.length; i++) {
      if ((counts[needle[i] as number] as number) < (counts[needle[rareAt] as number] as number)) rareAt = i;
    }
    this.rareAt = rareAt;
    this.rareByte = needle[rareAt] as number;
    this.byRareByte = needle.length > 1 && (counts[this.rareByte] as number) * RARE_BYTE_GAP <= sample.length;
  }

  /** The first start at or after `from` where the needle lies whole before `end`, or -1. */
  find(buffer: Buffer, from: number, end: number): number {
    const length = this.needle.length;
    if (!this.byRareByte) {
      const at = buffer.indexOf(this.needle, from);
      return at !== -1 && at + length <= end ? at : -1;
    }
    for (
      let at = buffer.indexOf(this.rareByte, from + this.rareAt);
      at !== -1;
      at = buffer.indexOf(this.rareByte, at + 1)
    ) {
      const start = at - this.rareAt;
      if (start + length > end) return -1;
      let same = true;
      for (let i = 0; i < length; i++) {
        if (buffer[start + i] !== this.needle[i]) {
          same = false;
          break;
        }
      }
      if (same) return start;
    }
    return -1;
  }
}

function searchBytes(
  chunk: Buffer,
  length: number,
  position: number,
  finder: NeedleFinder,
  lineTest: RegExp | null,
  locator: LineLocator,
  matches: number[],
  limit: number,
): 'full' | 'done' {
  let at = finder.find(chunk, 0, length);
  while (at !== -1) {
    let lineEnd = chunk.indexOf(10, at);
    if (lineEnd === -1 || lineEnd >= length) lineEnd = length;
    let matchAt = at;
    if (lineTest) {
      // Only the line that holds the literal is decoded and tried.
      const lineStart = at === 0 ? 0 : chunk.lastIndexOf(10, at - 1) + 1;
      matchAt = lineTest.test(chunk.toString('utf8', lineStart, lineEnd)) ? lineStart : -1;
    }
    if (matchAt !== -1 && addMatch(position + matchAt, locator, matches, limit) === 'full') return 'full';
    if (lineEnd >= length) break;
    at = finder.find(chunk, lineEnd + 1, length);
  }
  return 'done';
}

/**
 * The longest run of plain characters (3 or more) that every match of a regular expression contains,
 * or null when there is none or the expression is too involved to tell (alternation, lookaround,
 * unicode escapes). Runs inside groups are not counted: a group may be optional.
 */
export function requiredLiteral(source: string): string | null {
  if (source.includes('|') || source.includes('(?')) return null;
  const runs: string[] = [];
  let run = '';
  let depth = 0;
  const endRun = () => {
    if (run && depth === 0) runs.push(run);
    run = '';
  };
  for (let i = 0; i < source.length; i++) {
    const char = source[i] as string;
    if (char === '\\') {
      const next = source[i + 1] ?? '';
      i += 1;
      if (/[.*+?^${}()|[\]\\/-]/.test(next)) run += next;
      else if (/[uxcpPk]/.test(next)) return null;
      else endRun();
    } else if (char === '*' || char === '?' || char === '{') {
      // The character before may be absent (or, after "{", the quantifier is skipped whole).
      run = run.slice(0, -1);
      endRun();
      if (char === '{') {
        const close = source.indexOf('}', i);
        if (close === -1) return null;
        i = close;
      }
    } else if (char === '+') {
      endRun();
    } else if (char === '[') {
      endRun();
      let close = i + 1;
      while (close < source.length && source[close] !== ']') close += source[close] === '\\' ? 2 : 1;
      i = close;
    } else if (char === '(' || char === ')') {
      endRun();
      depth += char === '(' ? 1 : -1;
    } else if (char === '.' || char === '^' || char === '$') {
      endRun();
    } else {
      run += char;
    }
  }
  endRun();
  const longest = runs.reduce((best, candidate) => (candidate.length > best.length ? candidate : best), '');
  return longest.length >= 3 ? longest : null;
}

function searchText(
  chunk: Buffer,
  length: number,
  position: number,
  pattern: RegExp,
  locator: LineLocator,
  matches: number[],
  limit: number,
): 'full' | 'done' {
  const text = chunk.toString('utf8', 0, length);
  // Pure ASCII decodes to as many characters as bytes: offsets need no conversion.
  const ascii = text.length === length;
  let counted = 0;
  let countedBytes = 0;
  pattern.lastIndex = 0;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    if (!ascii) {
      countedBytes += Buffer.byteLength(text.slice(counted, match.index));
      counted = match.index;
    }
    const offset = position + (ascii ? match.index : countedBytes);
    if (addMatch(offset, locator, matches, limit) === 'full') return 'full';
    const lineEnd = text.indexOf('\n', match.index);
    if (lineEnd === -1) break;
    pattern.lastIndex = lineEnd + 1;
  }
  return 'done';
}
