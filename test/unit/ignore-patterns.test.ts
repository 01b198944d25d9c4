import { describe, expect, it } from 'vitest';
import { balenaIgnoreRuleFromText } from '../../src/core/pack/balena-project';
import { ignoreRuleFromText } from '../../src/core/project/ignore';
import { cleanPath, IgnorePatterns, readIgnorePatterns } from '../../src/core/project/ignore-patterns';

const leftOut = (text: string) => {
  const patterns = new IgnorePatterns(readIgnorePatterns(text));
  return (path: string) => patterns.matches(path);
};

describe('.dockerignore patterns, as the docker CLI reads and matches them', () => {
  it('reads lines as moby does: comments, blanks, spaces, a leading "/", "..", a byte order mark', () => {
    expect(
      readIgnorePatterns(
        '\uFEFFnode_modules\r\n# a comment\n  \n  dist/  \n/build\n!  /build/keep\nsrc/../tmp//x/\n #not\n',
      ),
    ).toEqual(['node_modules', 'dist', 'build', '!build/keep', 'tmp/x', '#not']);
    expect(cleanPath('a/./b/../../..//c/')).toBe('../c');
    expect(cleanPath('/../a')).toBe('/a');
  });

  it('matches a folder pattern against everything under it', () => {
    const ignored = leftOut('node_modules\n/dist\n');
    expect(ignored('node_modules')).toBe(true);
    expect(ignored('node_modules/react/index.js')).toBe(true);
    expect(ignored('dist/app.js')).toBe(true);
    expect(ignored('web/node_modules')).toBe(false);
    expect(ignored('node_modules_old')).toBe(false);
  });

  it('stops * and ? at a "/", and lets ** cross any number of folders, even none', () => {
    const ignored = leftOut('*.log\ndocs/?.md\n**/*.tmp\ncache/**\na/**/z\n');
    expect(ignored('error.log')).toBe(true);
    expect(ignored('logs/error.log')).toBe(false);
    expect(ignored('docs/a.md')).toBe(true);
    expect(ignored('docs/ab.md')).toBe(false);
    expect(ignored('x.tmp')).toBe(true);
    expect(ignored('deep/er/x.tmp')).toBe(true);
    expect(ignored('cache/a/b')).toBe(true);
    expect(ignored('a/z')).toBe(true);
    expect(ignored('a/b/c/z')).toBe(true);
    expect(ignored('a/b/c/zz')).toBe(false);
  });

  it('matches **/name only at a "/", not as the end of a longer name', () => {
    const ignored = leftOut('**/secret\n');
    expect(ignored('secret')).toBe(true);
    expect(ignored('app/secret')).toBe(true);
    expect(ignored('app/secret/key')).toBe(true);
    expect(ignored('app/topsecret')).toBe(false);
  });

  it('knows character classes and escapes, and takes regular expression characters literally', () => {
    const ignored = leftOut('file[0-9].txt\nnot[^a].md\n\\*star\nv1.0+(beta)|x\n');
    expect(ignored('file7.txt')).toBe(true);
    expect(ignored('filex.txt')).toBe(false);
    expect(ignored('notb.md')).toBe(true);
    expect(ignored('nota.md')).toBe(false);
    expect(ignored('*star')).toBe(true);
    expect(ignored('xstar')).toBe(false);
    expect(ignored('v1.0+(beta)|x')).toBe(true);
    expect(ignored('v1x0+(beta)|x')).toBe(false);
  });

  it('lets the last matching pattern decide, so "!" brings a path back and a later pattern takes it again', () => {
    const ignored = leftOut('*.md\n!README.md\ndocs\n!docs/keep.md\ndocs/keep.md\n');
    expect(ignored('CHANGES.md')).toBe(true);
    expect(ignored('README.md')).toBe(false);
    expect(ignored('docs/keep.md')).toBe(true);
    expect(ignored('docs/other.txt')).toBe(true);
  });

  it('refuses a lone "!" and a pattern Go cannot read, naming the file', () => {
    expect(() => new IgnorePatterns(['!'], 'web/.dockerignore')).toThrow(/web\/\.dockerignore/);
    expect(() => new IgnorePatterns(['[a-'], 'web/.dockerignore')).toThrow(/not valid/);
  });

  it('keeps the Dockerfile and .dockerignore, and walks an excluded folder only for an exception inside it', () => {
    const rule = ignoreRuleFromText('*\n!src/keep\n', 'build/Dockerfile');
    expect(rule.verdict('.dockerignore', false)).toBe('send');
    expect(rule.verdict('build/Dockerfile', false)).toBe('send');
    expect(rule.verdict('build', true)).toBe('walk');
    expect(rule.verdict('src', true)).toBe('walk');
    expect(rule.verdict('src/keep', false)).toBe('send');
    expect(rule.verdict('src/other', false)).toBe('skip');
    expect(rule.verdict('lib', true)).toBe('skip');
  });

  it('serves balena with the same matcher: the root rules plus .git, the build files always sent', () => {
    const ignored = balenaIgnoreRuleFromText('**/*.bin\n!keep.bin\n');
    expect(ignored('a/b/c.bin')).toBe(true);
    expect(ignored('keep.bin')).toBe(false);
    expect(ignored('a/.git')).toBe(true);
    expect(ignored('a/Dockerfile')).toBe(false);
  });
});
