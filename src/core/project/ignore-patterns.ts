import { SlipwayError } from '../../shared/errors';

// The patterns of a .dockerignore as the docker CLI reads and matches them: moby's ignorefile.ReadAll
// (comments, trimming, Clean, a leading '/' dropped) and patternmatcher (Go filepath.Match syntax
// turned into a regular expression: '*' and '?' stop at '/', '**' crosses folders, '\' escapes; a
// path is matched when it or one of its parent folders matches; the last matching pattern decides,
// and a '!' pattern is an exception that brings a path back).

interface Pattern {
  /** The cleaned pattern, without its '!'. */
  text: string;
  exception: boolean;
  /** null when the pattern has no wildcard: then it matches only the path itself. */
  regexp: RegExp | null;
}

/** Go's path.Clean for '/'-separated paths: no '.', no 'x/..', no doubled or trailing '/'. */
export function cleanPath(path: string): string {
  if (path === '') return '.';
  const rooted = path.startsWith('/');
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop();
      else if (!rooted) parts.push('..');
      continue;
    }
    parts.push(part);
  }
  const joined = parts.join('/');
  if (rooted) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

/** Go's filepath.Dir for a relative '/'-separated path: "." when it has no folder. */
function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash === -1 ? '.' : cleanPath(path.slice(0, slash));
}

/** Go's strings.TrimSpace, near enough: the Unicode white space JavaScript's trim knows. */
const trim = (text: string) => text.trim();

/** The patterns of a .dockerignore file's text, as moby's ignorefile.ReadAll reads them. */
export function readIgnorePatterns(text: string): string[] {
  const patterns: string[] = [];
  text.split('\n').forEach((raw, index) => {
    // bufio.ScanLines drops a '\r' before the '\n'; the first line loses a UTF-8 byte order mark.
    let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (index === 0 && line.startsWith('\uFEFF')) line = line.slice(1);
    // A comment is a line that starts with '#', before any trimming.
    if (line.startsWith('#')) return;
    let pattern = trim(line);
    if (pattern === '') return;
    const exception = pattern.startsWith('!');
    if (exception) pattern = trim(pattern.slice(1));
    if (pattern.length > 0) {
      pattern = cleanPath(pattern);
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    patterns.push(exception ? `!${pattern}` : pattern);
  });
  return patterns;
}

/** Characters that mean something in a regular expression and nothing in filepath.Match. */
const LITERAL = new Set(['.', '$', '+', '(', ')', '|', '{', '}', '^']);

/** patternmatcher's translation of a Go filepath.Match pattern into a regular expression. */
function compile(text: string): RegExp | null {
  let source = '^';
  let wild = false;
  let inClass = false;
  for (let index = 0; index < text.length; index++) {
    const ch = text[index] as string;
    if (inClass) {
      // Inside [...] Go's syntax and the regular expression's agree; ']' ends it.
      if (ch === '\\' && index + 1 < text.length) source += `\\${text[++index]}`;
      else source += ch;
      if (ch === ']') inClass = false;
      continue;
    }
    if (ch === '*') {
      wild = true;
      if (text[index + 1] !== '*') {
        source += '[^/]*';
        continue;
      }
      index += 1;
      // '**/' is '**': the '/' goes with it.
      if (text[index + 1] === '/') index += 1;
      // A trailing '**' matches everything below; elsewhere it is any number of folders, even none.
      source += index + 1 >= text.length ? '.*' : '(.*/)?';
    } else if (ch === '?') {
      wild = true;
      source += '[^/]';
    } else if (ch === '\\') {
      // Escapes the next character; a trailing '\' stands for itself.
      if (index + 1 < text.length) {
        wild = true;
        source += `\\${text[++index]}`;
      } else source += '\\\\';
    } else if (ch === '[') {
      wild = true;
      inClass = true;
      source += text[index + 1] === '^' ? '[^' : '[';
      if (text[index + 1] === '^') index += 1;
    } else if (LITERAL.has(ch) || ch === ']') {
      source += `\\${ch}`;
    } else {
      source += ch;
    }
  }
  if (!wild) return null;
  if (inClass) throw new Error('unterminated [');
  return new RegExp(`${source}$`);
}

/**
 * The patterns of one .dockerignore (with whatever a caller adds), matched as the docker CLI
 * matches them (moby patternmatcher's MatchesOrParentMatches).
 */
export class IgnorePatterns {
  private readonly patterns: Pattern[] = [];

  /** `source` names the file the patterns come from, for errors. */
  constructor(
    patterns: string[],
    private readonly source = '.dockerignore',
  ) {
    this.add(patterns);
  }

  /** Adds patterns after the others: they decide over them. */
  add(patterns: string[]): void {
    for (const raw of patterns) {
      let text = trim(raw);
      if (text === '') continue;
      text = cleanPath(text);
      const exception = text.startsWith('!');
      if (exception) {
        if (text.length === 1) {
          throw new SlipwayError('E_BAD_INPUT', `${this.source}: "!" alone is not a pattern`, {
            hint: 'Write the path the exception brings back after the "!".',
          });
        }
        text = text.slice(1);
      }
      let regexp: RegExp | null;
      try {
        regexp = compile(text);
      } catch (error) {
        throw new SlipwayError(
          'E_BAD_INPUT',
          `${this.source}: the pattern "${raw}" is not valid (${(error as Error).message})`,
          {
            hint: 'Patterns follow Go filepath.Match: *, ?, [a-z] and \\ to escape; ** for any folders.',
          },
        );
      }
      this.patterns.push({ text, exception, regexp });
    }
  }

  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /** The exceptions ('!' patterns), cleaned, without their '!'. */
  exceptions(): string[] {
    return this.patterns.filter((pattern) => pattern.exception).map((pattern) => pattern.text);
  }

  /** True when `path` (relative, '/'-separated) is left out: the last pattern it or a parent matches decides. */
  matches(path: string): boolean {
    let matched = false;
    let parents: string[] | null = null;
    for (const pattern of this.patterns) {
      // A pattern can only change the verdict: an exclusion once excluded, an exception once not, need no test.
      if (pattern.exception !== matched) continue;
      let match = matchOne(pattern, path);
      if (!match) {
        parents ??= parentFolders(path);
        for (const parent of parents) {
          if (matchOne(pattern, parent)) {
            match = true;
            break;
          }
        }
      }
      if (match) matched = !pattern.exception;
    }
    return matched;
  }
}

function matchOne(pattern: Pattern, path: string): boolean {
  return pattern.regexp ? pattern.regexp.test(path) : pattern.text === path;
}

/** "a/b/c" → ["a", "a/b"]: each folder above the path, outermost first. */
function parentFolders(path: string): string[] {
  const parent = parentOf(path);
  if (parent === '.') return [];
  const parts = parent.split('/');
  return parts.map((_, index) => parts.slice(0, index + 1).join('/'));
}
