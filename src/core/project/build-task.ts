import { relative, resolve, sep } from 'node:path';
import type { Task } from '../../shared/domain';
import { SlipwayError } from '../../shared/errors';
import { keyValueMap } from './compose-merge';
import { isLocalPath, isRemoteContext } from './compose-model';
import { invalid, isPlain, type Plain } from './compose-yaml';
import type { Lookup } from './interpolate';
import { isInside, kindOf, resolveSentFolder } from './paths';
import { defaultImageName } from './project-name';

/** What the loader knows that a service's build section needs. */
export interface BuildInfo {
  projectName: string;
  projectDir: string;
  /** Real paths a context written inside of must really stay inside of: the opened folder, the project dir. */
  roots: string[];
  lookup: Lookup;
  secrets: Record<string, Plain>;
  /** The compose file named in errors. */
  file: string;
}

/** A service's build section as a Task, with the keys carried to the builder and those refused. */
export interface ServiceBuild {
  task: Task;
  carried: string[];
  refused: string[];
  warnings: string[];
}

/** Build keys of the Compose Build Specification that Task has no field for: refused with a warning. */
const REFUSED_KEYS = ['cache_to', 'entitlements', 'isolation', 'privileged', 'ulimits', 'provenance', 'sbom'];

/** Byte units of the spec (extension.md, "Specifying byte values"), 1024-based as compose reads them. */
const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** A byte value (`2gb`, `512m`, 10000000) in bytes. */
export function parseByteValue(value: unknown, where: string, file: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(String(value).trim());
  if (!match) throw invalid(file, `${where}: "${String(value)}" is not a byte value (like 2gb, 512m or 1048576)`);
  return Math.round(Number(match[1]) * (BYTE_UNITS[(match[2] as string).toLowerCase()] as number));
}

function text(value: unknown, where: string, file: string): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw invalid(file, `${where} must be a string`);
}

function strings(value: unknown, where: string, file: string): string[] {
  if (!Array.isArray(value)) throw invalid(file, `${where} must be a list`);
  return value.map((item, index) => text(item, `${where}[${index}]`, file));
}

function boolean(value: unknown, where: string, file: string): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw invalid(file, `${where} must be true or false`);
}

/** A "KEY=VALUE" list or a mapping as a map; null values stay null for the caller to decide. */
function keyValues(value: unknown, where: string, file: string, hosts = false): Record<string, string | null> {
  const map = keyValueMap(value, hosts);
  if (!isPlain(map)) throw invalid(file, `${where} must be a mapping or a list of KEY=VALUE`);
  const result: Record<string, string | null> = {};
  for (const [key, raw] of Object.entries(map)) result[key] = raw === null ? null : text(raw, `${where}.${key}`, file);
  return result;
}

/**
 * Makes a build task of a service's build section (the Compose Build Specification, build.md). Every
 * key is carried to a Task field or refused with a warning naming it and the service; the context is
 * resolved with realpath and checked against the project's folders, the Dockerfile looked for.
 */
export async function taskFromService(service: string, definition: Plain, info: BuildInfo): Promise<ServiceBuild> {
  const { file } = info;
  const where = `service "${service}"`;
  const raw = definition.build;
  const spec: Plain = typeof raw === 'string' ? { context: raw } : isPlain(raw) ? raw : {};
  if (typeof raw !== 'string' && !isPlain(raw)) throw invalid(file, `${where}: build must be a path or a mapping`);
  const carried: string[] = [];
  const refused: string[] = [];
  const warnings: string[] = [];
  const contextText =
    spec.context === undefined ? info.projectDir : text(spec.context, `${where}: build.context`, file);
  const task: Task = { id: service, service, contextPath: info.projectDir, dockerfile: 'Dockerfile' };

  if (isRemoteContext(contextText)) {
    task.remoteContext = contextText;
    if (spec.dockerfile !== undefined) task.dockerfile = text(spec.dockerfile, `${where}: build.dockerfile`, file);
  } else {
    const written = resolve(info.projectDir, contextText);
    const folder = await resolveSentFolder(written, info.roots, `${where}: build.context`);
    if (folder === null || (await kindOf(folder.real)) !== 'folder') {
      throw new SlipwayError('E_CONTEXT_NOT_FOUND', `${file}: ${where}: build context ${written} is not a folder`, {
        hint: 'Check build.context in the compose file (it is relative to the project directory).',
      });
    }
    task.contextPath = folder.real;
    if (folder.link) warnings.push(`${where}: the context ${folder.link} is a link; ${folder.real} is sent`);
    await placeDockerfile(task, spec, where, file);
  }
  carried.push('context');
  if (spec.dockerfile !== undefined) carried.push('dockerfile');
  if (spec.dockerfile_inline !== undefined) carried.push('dockerfile_inline');

  for (const [key, value] of Object.entries(spec)) {
    if (value === null || value === undefined || ['context', 'dockerfile', 'dockerfile_inline'].includes(key)) continue;
    const at = `${where}: build.${key}`;
    switch (key) {
      case 'args': {
        const args: Record<string, string> = {};
        for (const [name, given] of Object.entries(keyValues(value, at, file))) {
          // A value-less arg takes the variable of that name (environment, then .env), as compose resolves it.
          const found = given ?? info.lookup(name);
          if (found === undefined)
            warnings.push(`${at}: ${name} has no value and no variable of that name is set; it is not sent`);
          else args[name] = found;
        }
        task.buildArgs = args;
        break;
      }
      case 'labels':
        task.labels = Object.fromEntries(
          Object.entries(keyValues(value, at, file)).map(([name, label]) => [name, label ?? '']),
        );
        break;
      case 'target':
        task.target = text(value, at, file);
        break;
      case 'network':
        task.network = text(value, at, file);
        break;
      case 'extra_hosts':
        task.extraHosts = Object.entries(keyValues(value, at, file, true)).map(
          ([host, ip]) => `${host}:${(ip ?? '').replace(/^\[(.*)\]$/, '$1')}`,
        );
        break;
      case 'shm_size':
        task.shmSizeBytes = parseByteValue(value, at, file);
        break;
      case 'cache_from':
        task.cacheFrom = strings(value, at, file);
        break;
      case 'pull':
        task.pull = boolean(value, at, file);
        break;
      case 'no_cache':
        task.noCache = boolean(value, at, file);
        break;
      case 'platforms':
        task.platforms = strings(value, at, file);
        break;
      case 'tags':
        // Set below with the image name first.
        break;
      case 'secrets':
        task.secrets = buildSecrets(value, at, info);
        break;
      case 'ssh':
        task.ssh = sshSpecs(value, at, file);
        break;
      case 'additional_contexts':
        task.additionalContexts = await additionalContexts(value, at, info);
        break;
      default:
        if (key.startsWith('x-')) continue;
        refused.push(key);
        warnings.push(
          REFUSED_KEYS.includes(key)
            ? `${at} is not carried to the builder: Slipway cannot send it, so the image is built without it`
            : `${at} is not a key of the Compose build specification; it is ignored`,
        );
        continue;
    }
    carried.push(key);
  }
  const platform =
    definition.platform === undefined ? undefined : text(definition.platform, `${where}: platform`, file);
  if (platform !== undefined) {
    if (!task.platforms) task.platforms = [platform];
    else if (!task.platforms.includes(platform)) {
      throw invalid(
        file,
        `${where}: build.platforms (${task.platforms.join(', ')}) does not include its platform ${platform}`,
      );
    }
  }
  const image = definition.image === undefined ? null : text(definition.image, `${where}: image`, file);
  const extra = spec.tags === undefined || spec.tags === null ? [] : strings(spec.tags, `${where}: build.tags`, file);
  task.tags = [...new Set([image ?? defaultImageName(info.projectName, service), ...extra])];
  return { task, carried, refused, warnings };
}

/** Finds the Dockerfile (relative to the context) or takes the inline one. */
async function placeDockerfile(task: Task, spec: Plain, where: string, file: string): Promise<void> {
  if (spec.dockerfile_inline !== undefined && spec.dockerfile_inline !== null) {
    if (spec.dockerfile !== undefined && spec.dockerfile !== null) {
      throw invalid(file, `${where}: dockerfile and dockerfile_inline are mutually exclusive`);
    }
    task.dockerfileInline = text(spec.dockerfile_inline, `${where}: build.dockerfile_inline`, file);
    return;
  }
  const given =
    spec.dockerfile === undefined || spec.dockerfile === null
      ? 'Dockerfile'
      : text(spec.dockerfile, `${where}: build.dockerfile`, file);
  const path = resolve(task.contextPath, given);
  if ((await kindOf(path)) !== 'file') {
    throw new SlipwayError('E_NO_DOCKERFILE', `${file}: ${where}: no Dockerfile at ${path}`, {
      hint: 'Check build.dockerfile in the compose file (it is relative to the context).',
    });
  }
  if (isInside(task.contextPath, path)) task.dockerfile = relative(task.contextPath, path).split(sep).join('/');
  else task.dockerfileOutside = path;
}

/** build.secrets: each names a top-level secret, whose file or environment variable gives the value. */
function buildSecrets(value: unknown, at: string, info: BuildInfo): NonNullable<Task['secrets']> {
  if (!Array.isArray(value)) throw invalid(info.file, `${at} must be a list`);
  return value.map((entry, index) => {
    const source = isPlain(entry) ? entry.source : entry;
    if (typeof source !== 'string') throw invalid(info.file, `${at}[${index}] must name a secret`);
    const target = isPlain(entry) && typeof entry.target === 'string' ? entry.target : source;
    const secret = info.secrets[source];
    if (!secret) {
      throw invalid(
        info.file,
        `${at}: the secret "${source}" is not defined in the top-level secrets`,
        'Define it under secrets: with a file or an environment variable.',
      );
    }
    if (typeof secret.file === 'string') return { id: target, file: secret.file };
    if (typeof secret.environment === 'string') return { id: target, env: secret.environment };
    throw invalid(
      info.file,
      `${at}: the secret "${source}" has neither file nor environment; a build can only use those`,
    );
  });
}

/** build.ssh: `default`, `ID=path[,path]` items, or a mapping of ID to path. */
function sshSpecs(value: unknown, at: string, file: string): NonNullable<Task['ssh']> {
  const entries = isPlain(value)
    ? Object.entries(value).map(([id, path]) => [id, path === null ? null : text(path, `${at}.${id}`, file)] as const)
    : strings(value, at, file).map((item) => {
        const equals = item.indexOf('=');
        return equals === -1 ? ([item, null] as const) : ([item.slice(0, equals), item.slice(equals + 1)] as const);
      });
  return entries.map(([id, paths]) => ({ id, paths: paths ? paths.split(',').filter((path) => path !== '') : [] }));
}

/** build.additional_contexts: local folders resolved with realpath (as contexts are), others as given. */
async function additionalContexts(value: unknown, at: string, info: BuildInfo): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const [name, given] of Object.entries(keyValues(value, at, info.file))) {
    if (given === null) throw invalid(info.file, `${at}.${name} has no value`);
    if (!isLocalPath(given)) {
      result[name] = given;
      continue;
    }
    const folder = await resolveSentFolder(resolve(info.projectDir, given), info.roots, `${at}.${name}`);
    if (folder === null) {
      throw new SlipwayError('E_CONTEXT_NOT_FOUND', `${info.file}: ${at}.${name}: ${given} is not a folder`);
    }
    result[name] = folder.real;
  }
  return result;
}
