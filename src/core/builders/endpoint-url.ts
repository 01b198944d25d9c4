import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Endpoint } from '../../shared/domain';

// What reading and showing an endpoint takes, apart from connecting to it (endpoint.ts): the CLI reads
// its target before it loads undici, so that the first scans start sooner.

/** An endpoint URL with any user, password or token left out, so it can be logged and shown. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username || parsed.password) {
      parsed.username = parsed.username ? '***' : '';
      parsed.password = parsed.password ? '***' : '';
    }
    for (const key of [...parsed.searchParams.keys()]) {
      if (/token|key|secret|pass|auth/i.test(key)) parsed.searchParams.set(key, '***');
    }
    // URL keeps unix:///path as is; only rebuild when something was hidden.
    return parsed.toString() === new URL(url).toString() ? url : parsed.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/**
 * TLS material from the environment, as the docker CLI reads it: DOCKER_CERT_PATH holds ca.pem,
 * cert.pem and key.pem; DOCKER_TLS_VERIFY set (to anything but "" or "0") turns verification on, and
 * DOCKER_TLS_VERIFY alone means TLS from ~/.docker.
 */
export function tlsFromEnv(env: NodeJS.ProcessEnv = process.env): Endpoint['tls'] | undefined {
  const verify = env.DOCKER_TLS_VERIFY !== undefined && env.DOCKER_TLS_VERIFY !== '' && env.DOCKER_TLS_VERIFY !== '0';
  const certPath = env.DOCKER_CERT_PATH || (verify ? join(env.HOME || homedir(), '.docker') : '');
  if (!certPath) return undefined;
  const file = (name: string) => (existsSync(join(certPath, name)) ? join(certPath, name) : undefined);
  return { ca: file('ca.pem'), cert: file('cert.pem'), key: file('key.pem'), verify };
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
