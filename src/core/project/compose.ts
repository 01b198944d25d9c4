import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { ExternalService, Task } from '../../shared/domain';
import { SlipwayError } from '../../shared/errors';

/** Compose's own search order (compose-go's DefaultFileNames): the first that exists wins. */
export const COMPOSE_FILE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'];

/** Returns the compose file of a folder by Compose's precedence, or null when it has none. */
export async function findComposeFile(folder: string): Promise<string | null> {
  for (const name of COMPOSE_FILE_NAMES) {
    const path = join(folder, name);
    try {
      if ((await stat(path)).isFile()) return path;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        throw new SlipwayError('E_CONTEXT_UNREADABLE', `Cannot read ${path}: ${code}`, { cause: error });
      }
    }
  }
  return null;
}

type Plain = Record<string, unknown>;

function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(file: string, message: string, hint?: string): SlipwayError {
  return new SlipwayError('E_COMPOSE_INVALID', `${file}: ${message}`, { hint });
}

function scalar(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  return null;
}

/**
 * Reads compose's "map or list of KEY=VALUE" form (args, labels). A key without a value takes the
 * environment's value as Compose does for args, and is left out when the environment has none.
 */
function keyValues(file: string, service: string, field: string, value: unknown, fromEnv: boolean) {
  const result: Record<string, string> = {};
  const put = (key: string, raw: string | null) => {
    if (raw !== null) result[key] = raw;
    else if (fromEnv && process.env[key] !== undefined) result[key] = process.env[key] as string;
    else if (!fromEnv) result[key] = '';
  };
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) {
    for (const item of value) {
      const text = scalar(item);
      if (text === null) throw invalid(file, `service "${service}": ${field} items must be KEY=VALUE strings`);
      const equals = text.indexOf('=');
      if (equals === -1) put(text, null);
      else put(text.slice(0, equals), text.slice(equals + 1));
    }
  } else if (isPlain(value)) {
    for (const [key, raw] of Object.entries(value)) {
      if (raw !== null && scalar(raw) === null) {
        throw invalid(file, `service "${service}": ${field}.${key} must be a string, number or boolean`);
      }
      put(key, scalar(raw));
    }
  } else {
    throw invalid(file, `service "${service}": ${field} must be a map or a list of KEY=VALUE`);
  }
  return result;
}

function inside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

async function kindOf(path: string): Promise<'file' | 'folder' | null> {
  try {
    const stats = await stat(path);
    return stats.isDirectory() ? 'folder' : 'file';
  } catch {
    return null;
  }
}

/** Parses a compose file into build tasks and image-only services; errors name the service and the path. */
export async function readComposeProject(
  projectPath: string,
  composeFile: string,
): Promise<{ tasks: Task[]; external: ExternalService[] }> {
  const shown = basename(composeFile);
  let document: unknown;
  // Loaded here, not with the module: a project without a compose file never needs it.
  const { parse, YAMLParseError } = await import('yaml');
  try {
    // merge: true gives YAML 1.1 merge keys (<<: *anchor), which Compose files use for shared settings.
    document = parse(await readFile(composeFile, 'utf8'), { merge: true, maxAliasCount: 10_000 });
  } catch (error) {
    if (error instanceof YAMLParseError) {
      const where = error.linePos ? ` at line ${error.linePos[0].line}, column ${error.linePos[0].col}` : '';
      throw invalid(
        `${composeFile}${where}`,
        error.message.split('\n')[0] as string,
        'Fix the YAML and open the project again.',
      );
    }
    throw new SlipwayError('E_CONTEXT_UNREADABLE', `Cannot read ${composeFile}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!isPlain(document) || !isPlain(document.services)) {
    throw invalid(composeFile, 'it has no "services" map');
  }
  const composeDir = dirname(composeFile);
  const tasks: Task[] = [];
  const external: ExternalService[] = [];
  for (const [service, definition] of Object.entries(document.services)) {
    if (!isPlain(definition)) throw invalid(composeFile, `service "${service}" is not a map`);
    const build = definition.build;
    if (build === undefined || build === null) {
      const image = scalar(definition.image);
      if (image === null) throw invalid(composeFile, `service "${service}" has neither build nor image`);
      external.push({ service, image });
      continue;
    }
    const spec: Plain = typeof build === 'string' ? { context: build } : isPlain(build) ? build : {};
    if (typeof build !== 'string' && !isPlain(build)) {
      throw invalid(composeFile, `service "${service}": build must be a path or a map`);
    }
    const contextText = scalar(spec.context) ?? '.';
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(contextText) || contextText.startsWith('git@')) {
      throw invalid(
        composeFile,
        `service "${service}": remote context ${contextText} is not supported`,
        'Clone it into the project and point build.context at the folder.',
      );
    }
    const contextPath = resolve(composeDir, contextText);
    if (!inside(projectPath, contextPath)) {
      throw new SlipwayError(
        'E_CONTEXT_OUTSIDE_PROJECT',
        `${shown}: service "${service}": context ${contextPath} lies outside the project ${projectPath}`,
        { hint: 'Open the folder that holds every context, or move the context into the project.' },
      );
    }
    if ((await kindOf(contextPath)) !== 'folder') {
      throw new SlipwayError(
        'E_CONTEXT_NOT_FOUND',
        `${shown}: service "${service}": build context ${contextPath} is not a folder`,
        { hint: 'Check build.context in the compose file.' },
      );
    }
    const task: Task = { id: service, service, contextPath, dockerfile: 'Dockerfile' };
    const inline = scalar(spec.dockerfile_inline);
    if (inline !== null) {
      if (spec.dockerfile !== undefined) {
        throw invalid(composeFile, `service "${service}": dockerfile and dockerfile_inline are mutually exclusive`);
      }
      task.dockerfileInline = inline;
    } else {
      const dockerfileText = scalar(spec.dockerfile) ?? 'Dockerfile';
      const dockerfilePath = resolve(contextPath, dockerfileText);
      if ((await kindOf(dockerfilePath)) !== 'file') {
        throw new SlipwayError(
          'E_NO_DOCKERFILE',
          `${shown}: service "${service}": no Dockerfile at ${dockerfilePath}`,
          { hint: 'Check build.dockerfile in the compose file (it is relative to the context).' },
        );
      }
      if (inside(contextPath, dockerfilePath)) {
        task.dockerfile = relative(contextPath, dockerfilePath).split(sep).join('/');
      } else {
        task.dockerfileOutside = dockerfilePath;
      }
    }
    const buildArgs = keyValues(composeFile, service, 'build.args', spec.args, true);
    if (buildArgs) task.buildArgs = buildArgs;
    const labels = keyValues(composeFile, service, 'build.labels', spec.labels, false);
    if (labels) task.labels = labels;
    const target = scalar(spec.target);
    if (target !== null) task.target = target;
    tasks.push(task);
  }
  return { tasks, external };
}
