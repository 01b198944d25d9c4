import { readFile } from 'node:fs/promises';
import type { Document, Node as YamlNode } from 'yaml';
import { SlipwayError } from '../../shared/errors';

/** A value tagged `!reset` in an override file: the merged attribute is removed (merge.md, "Reset value"). */
export class ResetValue {}

/** A value tagged `!override`: it replaces the attribute whole, bypassing the merge rules. */
export class OverrideValue {
  constructor(readonly value: unknown) {}
}

export type Plain = Record<string, unknown>;

export function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && value.constructor === Object;
}

export function invalid(file: string, message: string, hint?: string): SlipwayError {
  return new SlipwayError('E_COMPOSE_INVALID', `${file}: ${message}`, { hint });
}

/** Aliases expanded per file at most: a "billion laughs" file fails instead of filling memory. */
const MAX_ALIAS_EXPANSIONS = 10_000;

const TAGS = ['!reset', '!override'];

/**
 * Reads a compose file into plain values, keeping the `!reset` and `!override` tags as ResetValue and
 * OverrideValue and applying YAML merge keys (`<<: *anchor`) as Compose files use them.
 */
export async function readComposeYaml(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new SlipwayError('E_PROJECT_NOT_FOUND', `No such compose file: ${file}`, {
        hint: 'Check the path given with -f/--file or COMPOSE_FILE.',
      });
    }
    throw new SlipwayError('E_CONTEXT_UNREADABLE', `Cannot read ${file}: ${code ?? String(error)}`, { cause: error });
  }
  return parseComposeYaml(file, text);
}

/** Parses compose YAML text (see readComposeYaml); `file` names it in errors. */
export async function parseComposeYaml(file: string, text: string): Promise<unknown> {
  // Loaded here, not with the module: a project without a compose file never needs it.
  const yaml = await import('yaml');
  const identity = (value: unknown) => value;
  const customTags = TAGS.flatMap((tag) => [
    { tag, resolve: identity },
    { tag, collection: 'seq' as const, resolve: identity },
    { tag, collection: 'map' as const, resolve: identity },
  ]);
  const document = yaml.parseDocument(text, { customTags, uniqueKeys: true }) as Document.Parsed;
  const problem = document.errors[0];
  if (problem) {
    const where = problem.linePos ? ` at line ${problem.linePos[0].line}, column ${problem.linePos[0].col}` : '';
    throw invalid(
      `${file}${where}`,
      problem.message.split('\n')[0] as string,
      'Fix the YAML and open the project again.',
    );
  }
  let expansions = 0;
  const toPlain = (node: unknown): unknown => {
    if (node === null || node === undefined) return null;
    if (yaml.isAlias(node)) {
      if (++expansions > MAX_ALIAS_EXPANSIONS)
        throw invalid(file, `more than ${MAX_ALIAS_EXPANSIONS} aliases expanded`);
      return toPlain(node.resolve(document));
    }
    let value: unknown;
    if (yaml.isScalar(node)) value = node.value;
    else if (yaml.isSeq(node)) value = node.items.map(toPlain);
    else if (yaml.isMap(node)) {
      const map: Plain = {};
      const merged: Plain = {};
      for (const pair of node.items) {
        const key = pair.key as YamlNode | null;
        if (yaml.isScalar(key) && key.value === '<<' && key.type === 'PLAIN') {
          const sources = yaml.isSeq(pair.value) ? pair.value.items : [pair.value];
          // Earlier sources win over later ones, and the map's own keys over all of them (YAML 1.1 merge).
          for (const source of sources.reverse()) {
            const from = toPlain(source);
            if (!isPlain(from)) throw invalid(file, 'a merge key (<<) must name a mapping');
            Object.assign(merged, from);
          }
          continue;
        }
        const name = yaml.isScalar(key) ? key.value : null;
        if (typeof name !== 'string' && typeof name !== 'number' && typeof name !== 'boolean') {
          throw invalid(file, 'a mapping key must be a plain string');
        }
        map[String(name)] = toPlain(pair.value);
      }
      value = { ...merged, ...map };
    } else {
      throw invalid(file, `unexpected YAML node ${String(node)}`);
    }
    const tag = (node as { tag?: string }).tag;
    if (tag === '!reset') return new ResetValue();
    if (tag === '!override') return new OverrideValue(value);
    return value;
  };
  return toPlain(document.contents);
}
