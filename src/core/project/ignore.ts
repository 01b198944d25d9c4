import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../../shared/errors';
import { IgnorePatterns, readIgnorePatterns } from './ignore-patterns';

/** What the docker CLI does with a path of the context. */
export type Verdict =
  /** Sent (a folder is sent and walked). */
  | 'send'
  /** A folder that is excluded but walked, because an exception (!pattern) may bring back files inside it. */
  | 'walk'
  /** Left out (a folder with everything under it). */
  | 'skip';

/** The .dockerignore of one context, applied the way the docker CLI applies it. */
export interface IgnoreRule {
  /** Decides one path relative to the context root, '/'-separated. */
  verdict(relativePath: string, isFolder: boolean): Verdict;
  /** The .dockerignore lines as written, for messages. */
  readonly lines: string[];
  /** What the rule was made from, so another thread (the packer's read-ahead) can make it again. */
  readonly source: IgnoreSource;
}

/** The text and settings an IgnoreRule is made from; plain data that can go to a worker thread. */
export interface IgnoreSource {
  text: string;
  dockerfile: string | null;
  /** Leave the .dockerignore on disk out: the plan sends a rewritten one instead. */
  leaveOutDockerignore?: boolean;
}

/** Makes an IgnoreRule again from its source. */
export function ignoreRuleFromSource(source: IgnoreSource): IgnoreRule {
  const rule = ignoreRuleFromText(source.text, source.dockerfile);
  if (!source.leaveOutDockerignore) return rule;
  return {
    lines: rule.lines,
    source,
    verdict: (path, isFolder) => (path === '.dockerignore' ? 'skip' : rule.verdict(path, isFolder)),
  };
}

/**
 * Reads the context's .dockerignore with Docker's own semantics. Like the docker CLI
 * (build.TrimBuildFilesFromExcludes), the .dockerignore and the Dockerfile are kept by appending
 * "!.dockerignore" and "!<dockerfile>" when the patterns would leave them out.
 */
export async function loadIgnoreRule(contextPath: string, dockerfile: string | null): Promise<IgnoreRule> {
  return ignoreRuleFromText(await readDockerignore(contextPath), dockerfile);
}

/** The text of a context's .dockerignore, or '' when it has none. */
export async function readDockerignore(contextPath: string): Promise<string> {
  return (await readIgnoreText(join(contextPath, '.dockerignore'))) ?? '';
}

/** The text of an ignore file, or null when there is none. */
async function readIgnoreText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw new SlipwayError('E_CONTEXT_UNREADABLE', `Cannot read ${path}: ${code}`, {
      hint: 'Fix its permissions.',
      cause: error,
    });
  }
}

/**
 * Which builder reads the ignore file: the docker CLI's classic builder, BuildKit (buildx), or Podman
 * (buildah). They differ only in which file they read, not in how its patterns match.
 */
export type IgnoreFlavour = 'classic' | 'buildkit' | 'podman';

/** The ignore file a builder would read for a context: its path (null when none) and text. */
export interface ChosenIgnoreFile {
  path: string | null;
  text: string;
}

/**
 * Chooses the ignore file as the builder does. classic: `<context>/.dockerignore`. buildkit: the
 * Dockerfile's own `<Dockerfile>.dockerignore` beside it wins over the context's `.dockerignore` (as
 * buildx does). podman: `<context>/.containerignore`, else `.dockerignore` (buildah's
 * ParseDockerignore, the rule of Podman 4's Docker API). `dockerfilePath` is the Dockerfile's absolute
 * path, or null for an inline one.
 */
export async function chooseIgnoreFile(
  contextPath: string,
  dockerfilePath: string | null,
  flavour: IgnoreFlavour,
): Promise<ChosenIgnoreFile> {
  const candidates = [join(contextPath, '.dockerignore')];
  if (flavour === 'buildkit' && dockerfilePath) candidates.unshift(`${dockerfilePath}.dockerignore`);
  if (flavour === 'podman') candidates.unshift(join(contextPath, '.containerignore'));
  for (const path of candidates) {
    const text = await readIgnoreText(path);
    if (text !== null) return { path, text };
  }
  return { path: null, text: '' };
}

/**
 * Builds the rule from the text of a .dockerignore; `dockerfile` is the Dockerfile's path in the
 * context, or null when it is sent from elsewhere (outside the context, inline).
 */
export function ignoreRuleFromText(text: string, dockerfile: string | null): IgnoreRule {
  const lines = text.split(/\r?\n/);
  const patterns = new IgnorePatterns(readIgnorePatterns(text));
  const extra: string[] = [];
  if (patterns.matches('.dockerignore')) extra.push('!.dockerignore');
  const kept = dockerfile?.replace(/^\.\//, '');
  if (kept && patterns.matches(kept)) extra.push(`!${kept}`);
  patterns.add(extra);
  // The docker CLI (moby's TarWithOptions) walks into an excluded folder only when an exception's
  // cleaned pattern, plus '/', starts with the folder's path plus '/'.
  const exceptions = patterns.exceptions().map((pattern) => `${pattern}/`);
  return {
    lines,
    source: { text, dockerfile },
    verdict(relativePath, isFolder) {
      if (relativePath === '' || relativePath === '.') return 'send';
      if (!patterns.matches(relativePath)) return 'send';
      if (!isFolder || exceptions.length === 0) return 'skip';
      const folder = `${relativePath}/`;
      return exceptions.some((pattern) => pattern.startsWith(folder)) ? 'walk' : 'skip';
    },
  };
}
