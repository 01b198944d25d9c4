import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import type { Endpoint } from '../../shared/domain';
import { SlipwayError } from '../../shared/errors';

/** An endpoint made ready for requests: an origin for URLs and the dispatcher that reaches it. */
export interface Connection {
  endpoint: Endpoint;
  origin: string;
  dispatcher: Agent;
  /** True for unix sockets and loopback addresses (no compression needed). */
  loopback: boolean;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** Opens a connection pool to an endpoint URL: unix://, tcp:// or http(s)://. */
export function connect(endpoint: Endpoint): Connection {
  let url: URL;
  try {
    url = new URL(endpoint.url);
  } catch {
    throw new SlipwayError('E_BAD_INPUT', `Not a builder URL: ${endpoint.url}`, {
      hint: 'Use unix:///path/to/engine.sock, tcp://host:port or http(s)://host:port.',
    });
  }
  // Builds may stay silent for many minutes, and an engine may read the whole context before it
  // answers: no idle timeouts on headers or body; cancel is explicit, through AbortSignal.
  const timeouts = { headersTimeout: 0, bodyTimeout: 0, connectTimeout: 10_000, keepAliveTimeout: 4_000 };
  switch (url.protocol) {
    case 'unix:':
      return {
        endpoint,
        origin: 'http://localhost',
        dispatcher: new Agent({ ...timeouts, connect: { socketPath: url.pathname } }),
        loopback: true,
      };
    case 'tcp:':
    case 'http:':
    case 'https:': {
      const scheme = url.protocol === 'https:' ? 'https' : 'http';
      return {
        endpoint,
        origin: `${scheme}://${url.host}`,
        dispatcher: new Agent(timeouts),
        loopback: LOOPBACK_HOSTS.has(url.hostname),
      };
    }
    default:
      throw new SlipwayError('E_BAD_INPUT', `Unsupported builder URL scheme ${url.protocol} in ${endpoint.url}`, {
        hint: 'Use unix://, tcp://, http:// or https://.',
      });
  }
}

/** The local engine, as the docker CLI finds it: DOCKER_HOST, then the usual sockets. */
export function localEngineUrl(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DOCKER_HOST) return env.DOCKER_HOST;
  const candidates = [
    '/var/run/docker.sock',
    env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'podman', 'podman.sock') : '',
    '/run/podman/podman.sock',
    join(env.HOME || homedir(), '.docker', 'run', 'docker.sock'),
  ].filter((path) => path !== '');
  const found = candidates.find((path) => existsSync(path)) ?? '/var/run/docker.sock';
  return `unix://${found}`;
}
