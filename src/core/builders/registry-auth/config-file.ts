import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { SlipwayError } from '../../../shared/errors';
import type { RegistryCredentials } from './index';

/** What Slipway uses of the docker CLI's config.json. */
export interface DockerConfig {
  /** The file read (it may not exist: then everything is empty). */
  path: string;
  /** `auths`, by the key written there (a host, or a URL such as https://index.docker.io/v1/). */
  auths: Map<string, RegistryCredentials>;
  /** `credsStore`: the helper every registry's credentials live in, unless credHelpers names another. */
  credsStore: string | null;
  /** `credHelpers`: registry host → helper name. */
  credHelpers: Map<string, string>;
}

/** The docker CLI's config folder: $DOCKER_CONFIG, else ~/.docker. */
export function dockerConfigDir(env: NodeJS.ProcessEnv): string {
  return env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
}

/** The docker CLI's config file, read or not. */
export function dockerConfigPath(env: NodeJS.ProcessEnv): string {
  return join(dockerConfigDir(env), 'config.json');
}

/** config.json is a few KiB; one far larger is not a docker config. */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

function invalid(path: string, what: string): SlipwayError {
  return new SlipwayError('E_REGISTRY_CONFIG_INVALID', `${path}: ${what}`, {
    hint: 'Fix or remove the file (docker login writes it), or point DOCKER_CONFIG at another folder.',
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(path: string, field: string, value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw invalid(path, `${field} is not a string`);
  return value;
}

/**
 * One `auths` entry as the docker CLI reads it: `auth` (base64 of "user:password") wins over `username`
 * and `password`; an `identitytoken` is the secret when present. Null for an entry without credentials
 * (docker login with a credsStore leaves `{}` there).
 */
function authEntry(path: string, key: string, entry: unknown): RegistryCredentials | null {
  if (!isObject(entry)) throw invalid(path, `auths["${key}"] is not an object`);
  let username = optionalString(path, `auths["${key}"].username`, entry.username);
  let password = optionalString(path, `auths["${key}"].password`, entry.password);
  const auth = optionalString(path, `auths["${key}"].auth`, entry.auth);
  if (auth !== '') {
    const decoded = Buffer.from(auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    // The value is never quoted: it is the secret.
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(auth) || colon < 0) {
      throw invalid(path, `auths["${key}"].auth is not base64 of "username:password"`);
    }
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1).replace(/\0+$/, '');
  }
  const token = optionalString(path, `auths["${key}"].identitytoken`, entry.identitytoken);
  if (token !== '') return { username, secret: token, identityToken: true };
  if (username === '' && password === '') return null;
  return { username, secret: password };
}

/** Reads config.json as the docker CLI does; a missing file is an empty config, a malformed one an error naming it. */
export async function readDockerConfig(env: NodeJS.ProcessEnv): Promise<DockerConfig> {
  const path = dockerConfigPath(env);
  const config: DockerConfig = { path, auths: new Map(), credsStore: null, credHelpers: new Map() };
  let text: string;
  try {
    const bytes = await readFile(path);
    if (bytes.length > MAX_CONFIG_BYTES) throw invalid(path, `${bytes.length} bytes is too large for a config file`);
    text = bytes.toString('utf8');
  } catch (error) {
    if (error instanceof SlipwayError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return config;
    throw invalid(path, `cannot be read (${code ?? String(error)})`);
  }
  if (text.trim() === '') return config;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw invalid(path, `is not JSON (${(error as Error).message})`);
  }
  if (!isObject(parsed)) throw invalid(path, 'is not a JSON object');
  if (parsed.auths !== undefined && parsed.auths !== null) {
    if (!isObject(parsed.auths)) throw invalid(path, 'auths is not an object');
    for (const [key, entry] of Object.entries(parsed.auths)) {
      const credentials = authEntry(path, key, entry);
      if (credentials) config.auths.set(key, credentials);
    }
  }
  const store = optionalString(path, 'credsStore', parsed.credsStore);
  config.credsStore = store === '' ? null : helperName(path, 'credsStore', store);
  if (parsed.credHelpers !== undefined && parsed.credHelpers !== null) {
    if (!isObject(parsed.credHelpers)) throw invalid(path, 'credHelpers is not an object');
    for (const [host, name] of Object.entries(parsed.credHelpers)) {
      const helper = optionalString(path, `credHelpers["${host}"]`, name);
      if (helper !== '') config.credHelpers.set(host, helperName(path, `credHelpers["${host}"]`, helper));
    }
  }
  return config;
}

/** A helper's name becomes part of a program's name: no paths, nothing a shell would read. */
function helperName(path: string, field: string, name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw invalid(path, `${field} "${name}" is not a helper's name`);
  return name;
}
