import { dirname, join, relative } from 'node:path';
import { SlipwayError } from '../../shared/errors';
import { mergeValues, withoutTags } from './compose-merge';
import { invalid, isPlain, OverrideValue, type Plain, readComposeYaml } from './compose-yaml';
import { type EnvFileEntry, loadEnvironment } from './env-file';
import { type InterpolationNotes, interpolateTree, type Lookup } from './interpolate';
import { absoluteFrom, realPathOrNull } from './paths';

/** The merged application model, as far as building needs it. */
export interface ComposeModel {
  name?: string;
  /** Service definitions, their paths absolute (a context left unset means the project directory). */
  services: Record<string, Plain>;
  /** Top-level secrets, their files absolute. */
  secrets: Record<string, Plain>;
}

/** What loading shares across files, extends and includes. */
export interface LoadContext {
  lookup: Lookup;
  processEnv: Record<string, string | undefined>;
  warnings: string[];
  /** Variables set by the env files of included projects, for the project screen. */
  includedVariables: EnvFileEntry[];
  /** The folder the user opened, for shorter paths in messages. */
  folder: string;
  /** Compose files being loaded, outermost first: an include of one of them is a cycle. */
  stack: string[];
}

/** A context value that the engine fetches itself: a git repository or a tarball URL (build.md, context). */
export function isRemoteContext(text: string): boolean {
  return /^(https?|git|ssh):\/\//i.test(text) || text.startsWith('git@') || text.startsWith('github.com/');
}

/** Whether a context value names a local folder, not a URL or a `type://` context (docker-image://...). */
export function isLocalPath(text: string): boolean {
  return !isRemoteContext(text) && !/^[a-z][a-z0-9+.-]*:\/\//i.test(text);
}

/** Applies `change` under a `!override` tag as well as to a plain value. */
function underTag(value: unknown, change: (value: unknown) => unknown): unknown {
  return value instanceof OverrideValue ? new OverrideValue(change(value.value)) : change(value);
}

/**
 * Makes a service's paths absolute from the folder they are relative to (the project directory for the
 * project's own files, the other file's folder for `extends.file`, an include's project directory).
 * `fillContext` sets an unset context to that folder, for definitions that leave their folder.
 */
function absolutizeService(definition: Plain, base: string, fillContext: boolean): Plain {
  const result: Plain = { ...definition };
  const local = (text: unknown) => (typeof text === 'string' && isLocalPath(text) ? absoluteFrom(base, text) : text);
  if (result.build !== undefined) {
    result.build = underTag(result.build, (build) => {
      if (typeof build === 'string') return local(build);
      if (!isPlain(build)) return build;
      const changed: Plain = { ...build };
      if (typeof changed.context === 'string') changed.context = local(changed.context);
      else if (changed.context === undefined && fillContext) changed.context = base;
      const extra = changed.additional_contexts;
      if (isPlain(extra)) {
        changed.additional_contexts = Object.fromEntries(
          Object.entries(extra).map(([key, path]) => [key, local(path)]),
        );
      } else if (Array.isArray(extra)) {
        changed.additional_contexts = extra.map((item) => {
          const text = String(item);
          const equals = text.indexOf('=');
          return equals === -1 ? item : `${text.slice(0, equals)}=${local(text.slice(equals + 1))}`;
        });
      }
      return changed;
    });
  }
  if (result.env_file !== undefined) {
    result.env_file = underTag(result.env_file, (files) => {
      const one = (file: unknown) =>
        isPlain(file) ? { ...file, path: local(file.path) } : typeof file === 'string' ? local(file) : file;
      return Array.isArray(files) ? files.map(one) : one(files);
    });
  }
  return result;
}

function absolutizeSecrets(secrets: unknown, base: string): unknown {
  if (!isPlain(secrets)) return secrets;
  const result: Plain = {};
  for (const [name, secret] of Object.entries(secrets)) {
    result[name] =
      isPlain(secret) && typeof secret.file === 'string'
        ? { ...secret, file: absoluteFrom(base, secret.file) }
        : secret;
  }
  return result;
}

/** Reads one compose file: parsed, interpolated (unset variables warned about), paths made absolute. */
async function readProjectFile(file: string, base: string, fillContext: boolean, context: LoadContext): Promise<Plain> {
  const notes: InterpolationNotes = { unset: [] };
  const shown = relative(context.folder, file) || file;
  const document = interpolateTree(await readComposeYaml(file), context.lookup, shown, notes);
  for (const name of notes.unset) {
    context.warnings.push(`The "${name}" variable is not set (${shown}); it is read as an empty string`);
  }
  if (document === null) return {};
  if (!isPlain(document)) throw invalid(file, 'the file is not a mapping');
  const services = document.services ?? {};
  if (!isPlain(services)) throw invalid(file, '"services" must be a mapping');
  const absolute: Plain = {};
  for (const [name, definition] of Object.entries(services)) {
    const plain = definition instanceof OverrideValue ? definition.value : definition;
    if (plain === null) absolute[name] = {};
    else if (!isPlain(plain)) throw invalid(file, `service "${name}" is not a mapping`);
    else absolute[name] = underTag(definition, () => absolutizeService(plain, base, fillContext));
  }
  const result: Plain = { ...document, services: absolute };
  if (document.secrets !== undefined) result.secrets = absolutizeSecrets(document.secrets, base);
  if (document.include !== undefined) result.include = absolutizeIncludes(file, document.include);
  return result;
}

/** Include paths are relative to the file that names them. */
function absolutizeIncludes(file: string, include: unknown): unknown {
  if (!Array.isArray(include)) throw invalid(file, '"include" must be a list');
  const folder = dirname(file);
  const paths = (value: unknown) =>
    Array.isArray(value)
      ? value.map((path) => absoluteFrom(folder, String(path)))
      : absoluteFrom(folder, String(value));
  return include.map((entry) => {
    if (typeof entry === 'string') return { path: [absoluteFrom(folder, entry)] };
    if (!isPlain(entry) || entry.path === undefined) throw invalid(file, 'an include entry needs a path');
    const result: Plain = { path: [paths(entry.path)].flat() };
    if (entry.project_directory !== undefined)
      result.project_directory = absoluteFrom(folder, String(entry.project_directory));
    if (entry.env_file !== undefined) result.env_file = [paths(entry.env_file)].flat();
    return result;
  });
}

/** Resolves `extends` (same file and other files) of one file's services; other files are read once. */
class ExtendsResolver {
  private readonly otherFiles = new Map<string, Promise<Record<string, Plain>>>();

  constructor(private readonly context: LoadContext) {}

  async resolve(file: string, services: Record<string, Plain>): Promise<Record<string, Plain>> {
    const resolved: Record<string, Plain> = {};
    const resolving: string[] = [];
    const one = async (name: string): Promise<Plain> => {
      const done = resolved[name];
      if (done) return done;
      const definition = services[name];
      if (!definition) throw invalid(file, `extends names the service "${name}", which the file does not define`);
      const spec = definition instanceof OverrideValue ? undefined : definition.extends;
      if (spec === undefined || spec === null) {
        resolved[name] = definition;
        return definition;
      }
      const key = `${file}#${name}`;
      if (resolving.includes(key)) throw invalid(file, `extends loops: ${[...resolving, key].join(' -> ')}`);
      resolving.push(key);
      const { service, from } = this.parseSpec(file, name, spec);
      let base: Plain | undefined;
      if (from) {
        base = (await this.otherFile(from))[service];
        if (!base) throw invalid(file, `service "${name}" extends "${service}", which ${from} does not define`);
      } else {
        base = await one(service);
      }
      const { extends: _done, ...own } = definition;
      const merged = mergeValues(withoutTags(base), own, ['services', name]) as Plain;
      resolving.pop();
      resolved[name] = merged;
      return merged;
    };
    for (const name of Object.keys(services)) await one(name);
    return resolved;
  }

  private parseSpec(file: string, name: string, spec: unknown): { service: string; from: string | null } {
    if (typeof spec === 'string') return { service: spec, from: null };
    if (isPlain(spec) && typeof spec.service === 'string') {
      return {
        service: spec.service,
        from: typeof spec.file === 'string' ? absoluteFrom(dirname(file), spec.file) : null,
      };
    }
    throw invalid(file, `service "${name}": extends must be a service name or { service, file }`);
  }

  /** Another file's services, their paths relative to that file, their own extends resolved. */
  private otherFile(path: string): Promise<Record<string, Plain>> {
    let loading = this.otherFiles.get(path);
    if (!loading) {
      loading = (async () => {
        const real = await realPathOrNull(path);
        if (real === null) {
          throw new SlipwayError('E_PROJECT_NOT_FOUND', `No such compose file: ${path} (named by extends)`);
        }
        const document = await readProjectFile(real, dirname(real), true, this.context);
        return this.resolve(real, document.services as Record<string, Plain>);
      })();
      this.otherFiles.set(path, loading);
    }
    return loading;
  }
}

/**
 * Loads compose files into one model as docker compose does: each file interpolated, its extends
 * resolved, the files merged in order (merge.md), then `include:` applied (include.md): each included
 * project loaded with its own project directory and env file, its resources copied in.
 */
export async function loadComposeModel(
  files: string[],
  projectDir: string,
  context: LoadContext,
  fillContext = false,
): Promise<ComposeModel> {
  const resolver = new ExtendsResolver(context);
  let merged: unknown;
  for (const file of files) {
    const document = await readProjectFile(file, projectDir, fillContext, context);
    document.services = await resolver.resolve(file, document.services as Record<string, Plain>);
    merged = mergeValues(merged, document, []);
  }
  const model = (isPlain(merged) ? merged : {}) as Plain;
  const services = (isPlain(model.services) ? model.services : {}) as Record<string, Plain>;
  const secrets = (isPlain(model.secrets) ? model.secrets : {}) as Record<string, Plain>;
  for (const entry of (model.include as Plain[] | undefined) ?? []) {
    const included = await loadInclude(entry, context);
    for (const [name, service] of Object.entries(included.services)) {
      if (services[name]) {
        throw invalid(
          files[0] as string,
          `the included ${relative(context.folder, String((entry.path as string[])[0]))} defines the service "${name}" again`,
          'docker compose refuses a service defined both by a project and by a file it includes.',
        );
      }
      services[name] = service;
    }
    for (const [name, secret] of Object.entries(included.secrets)) secrets[name] ??= secret;
  }
  const name = typeof model.name === 'string' ? model.name : undefined;
  return { name, services, secrets };
}

async function loadInclude(entry: Plain, context: LoadContext): Promise<ComposeModel> {
  const paths: string[] = [];
  for (const path of entry.path as string[]) {
    const real = await realPathOrNull(path);
    if (real === null)
      throw new SlipwayError('E_PROJECT_NOT_FOUND', `No such compose file: ${path} (named by include)`);
    if (context.stack.includes(real)) {
      throw new SlipwayError('E_COMPOSE_INVALID', `include loops: ${[...context.stack, real].join(' -> ')}`);
    }
    paths.push(real);
  }
  const projectDir = (entry.project_directory as string | undefined) ?? dirname(paths[0] as string);
  const envFiles = (entry.env_file as string[] | undefined)?.map((path) => ({ path, required: true })) ?? [
    { path: join(projectDir, '.env'), required: false },
  ];
  // The including project's variables win over the included project's own env file (include.md).
  const own = await loadEnvironment({}, envFiles);
  context.includedVariables.push(...own.fromFiles);
  const lookup: Lookup = (name) => context.lookup(name) ?? own.lookup(name);
  return loadComposeModel(paths, projectDir, { ...context, lookup, stack: [...context.stack, ...paths] }, true);
}
