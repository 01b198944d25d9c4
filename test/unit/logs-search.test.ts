import { appendFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { requiredLiteral, searchLog } from '../../src/core/logs/reader';
import { logPath, SpoolWriter } from '../../src/core/logs/spool';
import { SlipwayError } from '../../src/shared/errors';
import { tempDir } from '../support/fixtures';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

/** 40,000 varied lines (about 1.5 MiB, several search pieces), some with multi-byte text and colour. */
function sampleLines(): string[] {
  const next = random(7);
  const words = [
    'compile',
    'link',
    'npm WARN',
    'd\u00e9j\u00e0 vu',
    '\u001b[31merror\u001b[0m',
    'ok \u2713',
    'needle',
    'x',
  ];
  return Array.from({ length: 40_000 }, (_, i) => {
    const count = 1 + Math.floor(next() * 6);
    const parts = Array.from({ length: count }, () => words[Math.floor(next() * words.length)]);
    return `${i} ${parts.join(' ')}${next() < 0.001 ? ' zebra-quokka' : ''}`;
  });
}

async function spooled(lines: string[]) {
  const dir = await tempDir();
  cleanups.push(dir.cleanup);
  const spool = await SpoolWriter.open(dir.path, 'web');
  for (let i = 0; i < lines.length; i += 5000) {
    await spool.write(lines.slice(i, i + 5000).map((text) => ({ text, flags: 0 })));
  }
  await spool.close();
  return dir.path;
}

const matching = (lines: string[], test: (line: string) => boolean) =>
  lines.flatMap((line, i) => (test(line) ? [i] : []));

describe('searching a task log', () => {
  it('finds the same lines as a plain scan, for rare and common words, across the pieces it reads', async () => {
    const lines = sampleLines();
    const dir = await spooled(lines);
    for (const query of ['zebra-quokka', 'needle', 'd\u00e9j\u00e0', 'WARN d', '9 x', '\u001b[31m']) {
      const expected = matching(lines, (line) => line.includes(query));
      const found = await searchLog(dir, 'web', query, { limitLines: 100_000 });
      expect(found.matches, query).toEqual(expected);
      expect(found.truncated).toBe(false);
    }
  });

  it('stops at the limit and says the answer was cut', async () => {
    const lines = sampleLines();
    const dir = await spooled(lines);
    const expected = matching(lines, (line) => line.includes('needle'));
    const found = await searchLog(dir, 'web', 'needle', { limitLines: 100 });
    expect(found.matches).toEqual(expected.slice(0, 100));
    expect(found.truncated).toBe(true);
  });

  it('matches regular expressions line by line, with multi-byte text before the match', async () => {
    const lines = sampleLines();
    const dir = await spooled(lines);
    const pattern = /^\d*7 d\u00e9j\u00e0 vu|quokka$/m;
    const expected = matching(lines, (line) => pattern.test(line));
    const found = await searchLog(dir, 'web', pattern.source, { regex: true, limitLines: 100_000 });
    expect(found.matches).toEqual(expected);
    expect(expected.length).toBeGreaterThan(10);
  });

  it('gives the same lines for regular expressions tried only on lines holding their literal part', async () => {
    const lines = sampleLines();
    const dir = await spooled(lines);
    for (const source of [
      '^\\d+ needle x$',
      'WARN d\\S+j',
      'quokka$',
      '(compile|link) ok',
      'ne+dle \\u2713',
      '\\d{2}7 link',
    ]) {
      const pattern = new RegExp(source);
      const expected = matching(lines, (line) => pattern.test(line));
      const found = await searchLog(dir, 'web', source, { regex: true, limitLines: 100_000 });
      expect(found.matches, source).toEqual(expected);
    }
  });

  it('knows which literal every match of a regular expression contains', () => {
    expect(requiredLiteral('^\\d+ needle x$')).toBe(' needle x');
    expect(requiredLiteral('colou?r error')).toBe('r error');
    expect(requiredLiteral('abc\\.def')).toBe('abc.def');
    expect(requiredLiteral('x{2,3}yz[abc]defg')).toBe('defg');
    expect(requiredLiteral('(optional stuff)?ab')).toBeNull();
    expect(requiredLiteral('error|warning')).toBeNull();
    expect(requiredLiteral('(?!not)this')).toBeNull();
    expect(requiredLiteral('\\u00e9t\\u00e9')).toBeNull();
  });

  it('refuses an invalid regular expression with E_BAD_INPUT', async () => {
    const dir = await spooled(['a', 'b']);
    const error = await searchLog(dir, 'web', '(unclosed', { regex: true }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SlipwayError);
    expect((error as SlipwayError).code).toBe('E_BAD_INPUT');
  });

  it('never matches across lines, nor in text after the last complete line', async () => {
    const dir = await spooled(['first half', 'second half']);
    expect((await searchLog(dir, 'web', 'half\nsecond')).matches).toEqual([]);
    // Bytes a crash left without an index entry are not a line yet.
    await appendFile(logPath(dir, 'web'), 'half written');
    expect((await searchLog(dir, 'web', 'half')).matches).toEqual([0, 1]);
    expect((await searchLog(dir, 'web', 'written')).matches).toEqual([]);
  });

  it('finds nothing in a task that has not spooled a line', async () => {
    const dir = await tempDir();
    cleanups.push(dir.cleanup);
    expect(await searchLog(dir.path, 'web', 'x')).toEqual({ matches: [], truncated: false });
  });
});
