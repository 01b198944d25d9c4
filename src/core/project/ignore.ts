import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import dockerignore from '@balena/dockerignore';
import { SlipwayError } from '../../shared/errors';

/** Decides, for a path relative to the context root, whether the docker CLI would leave it out. */
export type IgnoreRule = (relativePath: string) => boolean;

/**
 * Reads the context's .dockerignore with Docker's own semantics. The Dockerfile and the .dockerignore
 * itself are always sent, as the docker CLI does, whatever the patterns say.
 */
export async function loadIgnoreRule(contextPath: string, dockerfile: string): Promise<IgnoreRule> {
  let text = '';
  try {
    text = await readFile(join(contextPath, '.dockerignore'), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') {
      throw new SlipwayError('E_CONTEXT_UNREADABLE', `Cannot read ${join(contextPath, '.dockerignore')}: ${code}`, {
        cause: error,
      });
    }
  }
  return ignoreRuleFromText(text, dockerfile);
}

/** Builds the rule from the text of a .dockerignore. */
export function ignoreRuleFromText(text: string, dockerfile: string): IgnoreRule {
  const matcher = dockerignore({ ignorecase: false }).add(text.split(/\r?\n/));
  const alwaysSent = new Set(['.dockerignore', dockerfile.replace(/^\.\//, '')]);
  return (relativePath) => {
    if (relativePath === '' || relativePath === '.') return false;
    if (alwaysSent.has(relativePath)) return false;
    return matcher.ignores(relativePath);
  };
}
