import { describe, expect, it } from 'vitest';
import { parseEnvFile } from '../../src/core/project/env-file';
import { interpolate, interpolateTree } from '../../src/core/project/interpolate';
import type { SlipwayError } from '../../src/shared/errors';

// interpolation.md's table: VAR set to "value", EMPTY set to "", UNSET not set.
const env: Record<string, string> = { VAR: 'value', EMPTY: '', FOO: 'foo' };
const lookup = (name: string) => env[name];

function run(text: string) {
  const notes = { unset: [] as string[] };
  return { value: interpolate(text, lookup, 'compose.yaml', notes), unset: notes.unset };
}

function failure(text: string): SlipwayError {
  try {
    run(text);
  } catch (error) {
    return error as SlipwayError;
  }
  throw new Error(`${text} did not fail`);
}

describe('interpolation as the Compose specification defines it', () => {
  it('substitutes $VAR and ${VAR}', () => {
    expect(run('$VAR-${VAR}').value).toBe('value-value');
    expect(run('a${EMPTY}b').value).toBe('ab');
  });

  it('makes an unset variable without default an empty string and names it', () => {
    expect(run('x${UNSET}y$UNSET').value).toBe('xy');
    expect(run('x${UNSET}y$UNSET').unset).toEqual(['UNSET']);
  });

  it('takes :- for unset or empty, - for unset only', () => {
    expect(run('${VAR:-d} ${EMPTY:-d} ${UNSET:-d}').value).toBe('value d d');
    expect(run('${VAR-d} ${EMPTY-d} ${UNSET-d}').value).toBe('value  d');
    expect(run('${UNSET:-d}').unset).toEqual([]);
  });

  it('fails :? for unset or empty and ? for unset only, with the message given', () => {
    expect(run('${VAR:?need it}').value).toBe('value');
    expect(run('${EMPTY?need it}').value).toBe('');
    for (const text of ['${EMPTY:?need it}', '${UNSET:?need it}', '${UNSET?need it}']) {
      const error = failure(text);
      expect(error.code).toBe('E_COMPOSE_VARIABLE');
      expect(error.message).toContain('compose.yaml');
      expect(error.message).toMatch(/required variable (EMPTY|UNSET) is missing a value: need it/);
    }
  });

  it('replaces with :+ when set and non-empty, with + when set', () => {
    expect(run('[${VAR:+r}][${EMPTY:+r}][${UNSET:+r}]').value).toBe('[r][][]');
    expect(run('[${VAR+r}][${EMPTY+r}][${UNSET+r}]').value).toBe('[r][r][]');
  });

  it('nests expressions in defaults, errors and replacements', () => {
    expect(run('${UNSET:-${FOO}}').value).toBe('foo');
    expect(run('${UNSET:-${ALSO_UNSET:-default}}').value).toBe('default');
    expect(run('${VAR?$FOO}').value).toBe('value');
    expect(failure('${UNSET?$FOO}').message).toContain('missing a value: foo');
    // A default that is not used is not evaluated: its own required variable raises nothing.
    expect(run('${VAR:-${UNSET:?never}}').value).toBe('value');
  });

  it('keeps $$ as a literal $ and a $ that starts no variable', () => {
    expect(run('$$VAR_NOT_INTERPOLATED_BY_COMPOSE').value).toBe('$VAR_NOT_INTERPOLATED_BY_COMPOSE');
    expect(run('cost: 5$ and $1').value).toBe('cost: 5$ and $1');
  });

  it('refuses an unsupported or unclosed form as invalid', () => {
    expect(failure('${VAR/foo/bar}').code).toBe('E_COMPOSE_INVALID');
    expect(failure('${VAR').code).toBe('E_COMPOSE_INVALID');
    expect(failure('${}').code).toBe('E_COMPOSE_INVALID');
  });

  it('applies to values only, never to keys', () => {
    const notes = { unset: [] as string[] };
    const tree = interpolateTree(
      { labels: { $VAR_NOT_INTERPOLATED_BY_COMPOSE: 'BAR' }, list: ['$VAR=BAR'], port: 80 },
      lookup,
      'compose.yaml',
      notes,
    );
    expect(tree).toEqual({ labels: { $VAR_NOT_INTERPOLATED_BY_COMPOSE: 'BAR' }, list: ['value=BAR'], port: 80 });
  });
});

describe('env files as compose reads .env', () => {
  const outer = (name: string) => ({ HOME_VAR: 'from-process' })[name];

  it('reads NAME=VALUE lines, comments, export, quotes and inline comments', () => {
    const entries = parseEnvFile(
      '.env',
      [
        '# a comment',
        '',
        'PLAIN=value # comment',
        'export EXPORTED=yes',
        "SINGLE='${NOT} $interpolated'",
        'DOUBLE="line\\nnext \\$literal ${PLAIN}"',
        'SPACED =  trimmed  ',
        'MULTI="one',
        'two"',
        'EMPTY=',
      ].join('\n'),
      outer,
    );
    const values = Object.fromEntries(entries.map((entry) => [entry.name, entry.value]));
    expect(values).toEqual({
      PLAIN: 'value',
      EXPORTED: 'yes',
      SINGLE: '${NOT} $interpolated',
      DOUBLE: 'line\nnext $literal value',
      SPACED: 'trimmed',
      MULTI: 'one\ntwo',
      EMPTY: '',
    });
  });

  it('looks up the process environment before earlier lines, and takes a bare NAME from it', () => {
    const entries = parseEnvFile('.env', 'HOME_VAR=file\nUSE=${HOME_VAR}\nHOME_VAR\nMISSING', outer);
    expect(entries.map((entry) => [entry.name, entry.value])).toEqual([
      ['USE', 'from-process'],
      ['HOME_VAR', 'from-process'],
    ]);
  });

  it('refuses a line that is not NAME=VALUE, naming the file and line', () => {
    expect(() => parseEnvFile('/p/.env', 'OK=1\nnot a name=2', outer)).toThrow(/\/p\/\.env: line 2/);
  });
});
