import { type ErrorInfo, SlipwayError } from '../../../shared/errors';
import { type DockerConfig, dockerConfigPath, readDockerConfig } from './config-file';
import { helperGet, helperList } from './credential-helper';
import { registryConfigHeader } from './registry-config-header';

export interface RegistryCredentials {
  username: string;
  secret: string;
  identityToken?: boolean;
}

export interface RegistryAuth {
  /** Registry hosts that have credentials (no secrets): for the window and `inspect`. */
  registries(): string[];
  /** Credentials for one registry host as BuildKit or the engine names it (docker.io → index.docker.io/v1/ rules). */
  lookup(host: string): Promise<RegistryCredentials | null>;
  /**
   * Every registry's credentials, keyed as config.json keys them, as the docker CLI sends them to the
   * classic builder (GetAllCredentials: the store's, then each credHelpers entry over it).
   */
  all(): Promise<Map<string, RegistryCredentials>>;
  /** The config file read, for messages. */
  readonly configPath: string;
}

/** Docker Hub's key in config.json, whatever name the image, BuildKit or the engine gives the host. */
export const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';
const DOCKER_HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', DOCKER_HUB_KEY]);

/** A config key as a host (the docker CLI's ConvertToHostname): no scheme, nothing after the first '/'. */
export function registryHost(key: string): string {
  const bare = key.replace(/^https?:\/\//i, '');
  return bare.split('/')[0] ?? bare;
}

/** The key the docker CLI looks a host up by: Docker Hub's URL for every name of Docker Hub. */
function lookupKey(host: string): string {
  return DOCKER_HUB_HOSTS.has(host.toLowerCase()) ? DOCKER_HUB_KEY : host;
}

/** The entry of a map under `key`, else under a key naming the same host (legacy keys with a scheme or path). */
function byHost<T>(entries: Map<string, T>, key: string): T | undefined {
  const exact = entries.get(key);
  if (exact !== undefined) return exact;
  const host = registryHost(key);
  for (const [candidate, value] of entries) if (registryHost(candidate) === host) return value;
  return undefined;
}

/**
 * Registry credentials as the docker CLI finds them: `$DOCKER_CONFIG/config.json` or
 * `~/.docker/config.json`, its `auths`, its `credsStore` and `credHelpers` (each a
 * `docker-credential-<name>` program on PATH). Secrets are read only when asked for and never kept.
 * Throws E_REGISTRY_CONFIG_INVALID naming a malformed file, E_CREDENTIAL_HELPER naming a failing helper.
 */
export async function loadRegistryAuth(env: NodeJS.ProcessEnv = process.env): Promise<RegistryAuth> {
  const config = await readDockerConfig(env);
  // With a store, docker login keeps only empty `auths` entries in the file: the store says who has what.
  const stored = config.credsStore ? await helperList(config.credsStore, env) : [...config.auths.keys()];
  const hosts = new Set([...stored, ...config.credHelpers.keys()].map(registryHost));
  return {
    configPath: config.path,
    registries: () => [...hosts].sort(),
    lookup: (host) => lookup(config, lookupKey(host), env),
    all: () => all(config, stored, env),
  };
}

/** The docker CLI's GetAuthConfig: the host's own helper, else the store, else the file's `auths`. */
async function lookup(config: DockerConfig, key: string, env: NodeJS.ProcessEnv) {
  const helper = byHost(config.credHelpers, key) ?? config.credsStore;
  if (helper) return helperGet(helper, key, env);
  return byHost(config.auths, key) ?? null;
}

async function all(config: DockerConfig, stored: string[], env: NodeJS.ProcessEnv) {
  const credentials = new Map<string, RegistryCredentials>();
  const store = config.credsStore;
  for (const key of stored) {
    const found = store ? await helperGet(store, key, env) : config.auths.get(key);
    if (found) credentials.set(key, found);
  }
  for (const [key, helper] of config.credHelpers) {
    const found = await helperGet(helper, key, env);
    if (found) credentials.set(key, found);
    else credentials.delete(key);
  }
  return credentials;
}

/** The X-Registry-Config of one build, or why none is sent. */
export interface RegistryConfig {
  header: string | null;
  /** A remark for the build's log when the credentials could not be read (naming the file or helper). */
  warning: string | null;
}

/**
 * The X-Registry-Config of one build, read when its first request needs it and kept only in memory
 * for the build's requests: every configured registry, as the docker CLI sends them. As the docker CLI
 * does, a config or helper that fails does not stop the build: it goes without credentials (a public
 * base image needs none), and the warning says why, so a refused pull can be understood.
 */
export function registryConfigOnce(env: NodeJS.ProcessEnv = process.env): () => Promise<RegistryConfig> {
  let config: Promise<RegistryConfig> | null = null;
  return () => {
    config ??= loadRegistryAuth(env)
      .then(
        async (auth): Promise<RegistryConfig> => ({ header: registryConfigHeader(await auth.all()), warning: null }),
      )
      .catch((error: unknown) => {
        if (!(error instanceof SlipwayError)) throw error;
        return { header: null, warning: `Slipway: no registry credentials are sent (${error.code}): ${error.message}` };
      });
    return config;
  };
}

/**
 * The registry credentials BuildKit's session asks for during one build: the config is read at the first
 * question and kept only in memory for the build, as `registryConfigOnce` does for the classic builder.
 */
export function registryAuthOnce(env: NodeJS.ProcessEnv = process.env): Pick<RegistryAuth, 'registries' | 'lookup'> {
  let loaded: Promise<RegistryAuth> | null = null;
  let hosts: string[] = [];
  const auth = () => {
    loaded ??= loadRegistryAuth(env).then((found) => {
      hosts = found.registries();
      return found;
    });
    return loaded;
  };
  return {
    registries: () => hosts,
    // As for the classic builder, credentials that cannot be read leave BuildKit to pull anonymously.
    lookup: async (host) =>
      (await auth()).lookup(host).catch((error: unknown) => {
        if (error instanceof SlipwayError) return null;
        throw error;
      }),
  };
}

/** Which registries have credentials, for the window and `inspect`: hosts only, or why the config cannot be used. */
export async function registriesWithCredentials(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ configPath: string; registries: string[]; error: ErrorInfo | null }> {
  try {
    const auth = await loadRegistryAuth(env);
    return { configPath: auth.configPath, registries: auth.registries(), error: null };
  } catch (error) {
    if (!(error instanceof SlipwayError)) throw error;
    return { configPath: dockerConfigPath(env), registries: [], error: error.toInfo() };
  }
}
