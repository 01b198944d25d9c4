import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open, readFile, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { setImmediate } from 'node:timers/promises';
import type { LogStep } from '../../shared/domain';
import { SlipwayError } from '../../shared/errors';
import {
  checkEntryEnd,
  entryEndBytes,
  entryFlags,
  INDEX_ENTRY_BYTES,
  indexPath,
  logPath,
  type StepRecord,
  stepsPath,
} from './spool';

export interface LineWindow {
  fromLine: number;
  lines: string[];
  flags: number[];
  totalLines: number;
}

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

async function openIfThere(path: string): Promise<FileHandle | null> {
  try {
    return await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function openSyncIfThere(path: string): number | null {
  try {
    return openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/**
 * Reads lines [fromLine, fromLine + count) of a task's log: one read of the index, one of the log.
 * Lines whose index entry points past the end of the log (a crash mid-write) do not count; a task
 * that has not spooled anything yet has no lines. The reads are small (a window is a screenful) and
 * synchronous: eight round trips through the thread pool made a busy machine's worst window ten
 * times slower than its median.
 */
export async function readLines(
  buildDir: string,
  taskId: string,
  fromLine: number,
  count: number,
): Promise<LineWindow> {
  const index = openSyncIfThere(indexPath(buildDir, taskId));
  const log = index === null ? null : openSyncIfThere(logPath(buildDir, taskId));
  try {
    if (index === null || log === null) return { fromLine: 0, lines: [], flags: [], totalLines: 0 };
    let totalLines = Math.floor(fstatSync(index).size / INDEX_ENTRY_BYTES);
    const logBytes = fstatSync(log).size;
    const first = Math.max(0, Math.min(fromLine, totalLines));
    const last = Math.min(totalLines, first + count);
    const entriesFrom = Math.max(0, first - 1);
    const entries = Buffer.alloc((last - entriesFrom) * INDEX_ENTRY_BYTES);
    if (entries.length > 0) readSync(index, entries, 0, entries.length, entriesFrom * INDEX_ENTRY_BYTES);
    const start = first === 0 ? 0 : entryEndBytes(entries, 0);
    const skip = first - entriesFrom;
    let end = start;
    let complete = 0;
    for (let entry = skip; entry < last - entriesFrom; entry++) {
      const lineEnd = entryEndBytes(entries, entry);
      if (lineEnd > logBytes) break;
      checkEntryEnd(buildDir, taskId, entriesFrom + entry, end, lineEnd);
      end = lineEnd;
      complete += 1;
    }
    if (complete < last - first) totalLines = first + complete;
    const text = Buffer.alloc(end - start);
    if (text.length > 0) readSync(log, text, 0, text.length, start);
    const lines: string[] = [];
    const flags: number[] = [];
    let cursor = 0;
    for (let entry = skip; entry < skip + complete; entry++) {
      const lineEnd = entryEndBytes(entries, entry) - start;
      lines.push(text.toString('utf8', cursor, lineEnd - 1));
      flags.push(entryFlags(entries, entry));
      cursor = lineEnd;
    }
    return { fromLine: first, lines, flags, totalLines };
  } finally {
    if (index !== null) closeSync(index);
    if (log !== null) closeSync(log);
  }
}

/** The lines of a task's log that are complete on disk, and the byte offset where the last one ends. */
async function completeExtent(index: FileHandle, logBytes: number): Promise<{ lines: number; bytes: number }> {
  let lines = Math.floor((await index.stat()).size / INDEX_ENTRY_BYTES);
  const entry = Buffer.alloc(INDEX_ENTRY_BYTES);
  while (lines > 0) {
    await index.read(entry, 0, INDEX_ENTRY_BYTES, (lines - 1) * INDEX_ENTRY_BYTES);
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
    private readonly index: FileHandle,
    private readonly totalLines: number,
  ) {}

  lineAt(offsetBytes: number): number {
    while (this.blockLines === 0 || entryEndBytes(this.block, this.blockLines - 1) <= offsetBytes) {
      const next = this.blockFirstLine + this.blockLines;
      if (next >= this.totalLines) return this.totalLines - 1;
      const lines = Math.min(INDEX_BLOCK_ENTRIES, this.totalLines - next);
      readSync(this.index.fd, this.probe, 0, INDEX_ENTRY_BYTES, (next + lines - 1) * INDEX_ENTRY_BYTES);
      this.blockFirstLine = next;
      if (entryEndBytes(this.probe, 0) <= offsetBytes) {
        // The whole block ends before the offset: remember only its extent.
        this.block = Buffer.from(this.probe);
        this.blockFirstLine = next + lines - 1;
        this.blockLines = 1;
        continue;
      }
      if (this.block.length < lines * INDEX_ENTRY_BYTES) this.block = Buffer.alloc(lines * INDEX_ENTRY_BYTES);
      readSync(this.index.fd, this.block, 0, lines * INDEX_ENTRY_BYTES, next * INDEX_ENTRY_BYTES);
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

/**
 * Finds the lines of a task's log that contain `query` (or match it, as a regular expression), reading
 * the file in large pieces and never holding more than one. Line numbers come from the index, so the
 * text is never split into lines. Case-sensitive; a match counts once per line.
 */
export async function searchLog(
  buildDir: string,
  taskId: string,
  query: string,
  options: { regex?: boolean; limitLines?: number } = {},
): Promise<SearchResult> {
  const limit = options.limitLines ?? DEFAULT_SEARCH_LIMIT_LINES;
  let pattern: RegExp | null = null;
  if (options.regex) {
    try {
      pattern = new RegExp(query, 'gm');
    } catch (error) {
      throw new SlipwayError('E_BAD_INPUT', `Not a valid regular expression: ${query}`, { cause: error });
    }
  }
  const matches: number[] = [];
  // Lines never hold a newline, so a text with one matches nothing.
  if (!pattern && query.includes('\n')) return { matches, truncated: false };
  // A regular expression that needs a literal is searched for that literal first, and only the lines
  // that hold it are tried: most of the file is then scanned at the speed of a text search.
  const literal = pattern ? requiredLiteral(query) : query;
  const lineTest = pattern && literal ? new RegExp(query) : null;
  const needle = Buffer.from(literal ?? '');
  const [index, log] = await Promise.all([
    openIfThere(indexPath(buildDir, taskId)),
    openIfThere(logPath(buildDir, taskId)),
  ]);
  try {
    if (!index || !log) return { matches, truncated: false };
    const extent = await completeExtent(index, (await log.stat()).size);
    const locator = new LineLocator(index, extent.lines);
    const chunk = Buffer.allocUnsafe(SEARCH_CHUNK_BYTES);
    let finder: NeedleFinder | null = null;
    let position = 0;
    let sinceYieldBytes = 0;
    while (position < extent.bytes) {
      // Synchronous reads of a cached file cost a third of what a round trip through the thread pool
      // does; yielding every few megabytes keeps the process answering meanwhile.
      const bytesRead = readSync(log.fd, chunk, 0, Math.min(chunk.length, extent.bytes - position), position);
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
      }
    }
    return { matches, truncated: false };
  } finally {
    await Promise.all([index?.close(), log?.close()]);
  }
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

/**
 * The raw text of a task's log from line `fromLine` to its last complete line, as a stream: for
 * printing a whole log, which then never passes through strings. Empty when there is nothing there.
 */
export async function createLogStream(buildDir: string, taskId: string, fromLine: number): Promise<Readable> {
  const index = await openIfThere(indexPath(buildDir, taskId));
  if (!index) return Readable.from([]);
  try {
    const extent = await completeExtent(index, await stat(logPath(buildDir, taskId)).then((info) => info.size));
    if (fromLine >= extent.lines) return Readable.from([]);
    let startBytes = 0;
    if (fromLine > 0) {
      const entry = Buffer.alloc(INDEX_ENTRY_BYTES);
      await index.read(entry, 0, INDEX_ENTRY_BYTES, (fromLine - 1) * INDEX_ENTRY_BYTES);
      startBytes = entryEndBytes(entry, 0);
    }
    return createReadStream(logPath(buildDir, taskId), { start: startBytes, end: extent.bytes - 1 });
  } finally {
    await index.close();
  }
}

/** The number of complete lines of a task's log (0 when it has none). */
async function completeLines(buildDir: string, taskId: string): Promise<number> {
  const index = await openIfThere(indexPath(buildDir, taskId));
  if (!index) return 0;
  try {
    const logBytes = await stat(logPath(buildDir, taskId)).then(
      (info) => info.size,
      () => 0,
    );
    return (await completeExtent(index, logBytes)).lines;
  } finally {
    await index.close();
  }
}

/** Reads a task's steps file; a torn last record (a crash mid-write) is left out. */
async function readStepRecords(buildDir: string, taskId: string): Promise<StepRecord[]> {
  let text: string;
  try {
    text = await readFile(stepsPath(buildDir, taskId), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const records: StepRecord[] = [];
  const lines = text.split('\n');
  // Only the last record can be torn (a crash mid-write), and a step without its record still shows
  // in the log; any other record that does not read back is a damaged file.
  const torn = text.endsWith('\n') ? -1 : lines.length - 1;
  const { stepRecordSchema, describeProblems } = await import('../../shared/schemas');
  for (const [number, line] of lines.entries()) {
    if (!line || number === torn) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      value = undefined;
    }
    const checked = stepRecordSchema.safeParse(value);
    if (!checked.success) {
      const problem = value === undefined ? 'not JSON' : describeProblems(checked.error);
      throw new SlipwayError(
        'E_RECORD_DAMAGED',
        `${stepsPath(buildDir, taskId)} is damaged: line ${number + 1}: ${problem}`,
        {
          hint: 'The log itself is kept; its steps cannot be folded until the file is fixed or the build deleted.',
        },
      );
    }
    records.push(checked.data);
  }
  return records;
}

/** True when the task's spool was closed (its steps file ends with an end mark). */
export async function taskSpoolEnded(buildDir: string, taskId: string): Promise<boolean> {
  const records = await readStepRecords(buildDir, taskId);
  const last = records[records.length - 1];
  return last !== undefined && 'endedAtMs' in last;
}

/**
 * The build steps of a task's log with their first lines and durations: a step lasts until the next
 * one starts or the task ends. The last step of a task still running (or cut off by a crash) has no
 * known duration.
 */
export async function readSteps(buildDir: string, taskId: string): Promise<LogStep[]> {
  const steps: (LogStep & { atMs: number })[] = [];
  let open: (LogStep & { atMs: number }) | null = null;
  const storedLines = await completeLines(buildDir, taskId);
  for (const record of await readStepRecords(buildDir, taskId)) {
    // The steps file is written beside the log, not after it: a step whose line the log does not hold
    // (yet, or ever: a full disk) is not shown.
    if ('line' in record && record.line >= storedLines) continue;
    if ('endedAtMs' in record) {
      if (open) open.durationMs = Math.max(0, record.endedAtMs - open.atMs);
      open = null;
      continue;
    }
    if (open) open.durationMs = Math.max(0, record.atMs - open.atMs);
    open = {
      step: record.step,
      steps: record.steps,
      line: record.line,
      text: record.text,
      durationMs: null,
      atMs: record.atMs,
    };
    steps.push(open);
  }
  return steps.map(({ atMs: _atMs, ...step }) => step);
}
