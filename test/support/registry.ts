import { type ChildProcess, spawnSync } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import tarFs from 'tar-fs';
import { Agent, request } from 'undici';
import { spawnService } from './engine-service';
import { BUSYBOX } from './fixtures';

/** A private registry with a login, as a user's team would have one. */
export interface RegistryService {
  /** `127.0.0.1:<port>`: the host part of image names, and the key of config.json's `auths`. */
  host: string;
  username: string;
  password: string;
  stop(): Promise<void>;
}

/** Why the registry tests cannot run here, or null when Debian's docker-registry and htpasswd are installed. */
export function registryMissing(): string | null {
  if (spawnSync('docker-registry', ['--version']).error) {
    return 'docker-registry is not installed (apt-get install -y docker-registry)';
  }
  if (spawnSync('htpasswd', ['-h']).error) return 'htpasswd is not installed (apt-get install -y apache2-utils)';
  return null;
}

/** A port nobody listens on now (the kernel's choice), so tests running beside each other never share one. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Waits until the registry answers /v2/ (401 without credentials: it is up and wants a login). */
async function waitForRegistry(host: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    const answer = await request(`http://${host}/v2/`).catch(() => null);
    if (answer) {
      await answer.body.dump();
      if (answer.statusCode === 401) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`docker-registry did not answer on ${host}:\n${stderr()}`);
}

/**
 * Starts the registry on a free port; another process can take the port between freePort() closing it
 * and the registry binding it, so a start that fails is tried again on a new port (three tries).
 */
export async function startRegistryOnFreePort(): Promise<RegistryService> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startRegistry(await freePort());
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

/**
 * Starts Debian's docker-registry (distribution 2.x) on 127.0.0.1:<port> with htpasswd auth (a bcrypt
 * file made by `htpasswd -Bbn`) and filesystem storage in a temporary folder; stop() ends it and removes
 * the folder.
 */
export async function startRegistry(port: number): Promise<RegistryService> {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-registry-'));
  const host = `127.0.0.1:${port}`;
  const username = 'slipway-test';
  const password = `pw-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}`;
  const htpasswd = spawnSync('htpasswd', ['-Bbn', username, password], { encoding: 'utf8' });
  if (htpasswd.status !== 0) throw new Error(`htpasswd failed: ${htpasswd.stderr}`);
  await writeFile(join(dir, 'htpasswd'), htpasswd.stdout);
  await writeFile(
    join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      'http:',
      `  addr: ${host}`,
      'auth:',
      '  htpasswd:',
      '    realm: slipway-test',
      `    path: ${join(dir, 'htpasswd')}`,
      '',
    ].join('\n'),
  );
  const { child, stderr, stop } = spawnService({
    command: 'docker-registry',
    args: ['serve', join(dir, 'config.yml')],
    dir,
    killAfterMs: 5000,
  });
  try {
    await waitForRegistry(host, child, stderr);
  } catch (error) {
    await stop();
    throw error;
  }
  return { host, username, password, stop };
}

/** The Engine API's X-Registry-Auth: base64url of one auth configuration. */
function registryAuthHeader(registry: RegistryService): string {
  const json = JSON.stringify({
    username: registry.username,
    password: registry.password,
    serveraddress: registry.host,
  });
  return Buffer.from(json).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

async function engineCall(
  engineUrl: string,
  path: string,
  options: { headers?: Record<string, string>; body?: Readable },
): Promise<string> {
  const dispatcher = new Agent({ connect: { socketPath: engineUrl.replace('unix://', '') } });
  try {
    const response = await request(`http://localhost${path}`, {
      method: 'POST',
      dispatcher,
      headers: options.headers,
      body: options.body as never,
    });
    const text = await response.body.text();
    if (response.statusCode !== 200) throw new Error(`${path} answered ${response.statusCode}: ${text}`);
    // Both calls answer JSON lines; a failure may come as an errorDetail line with a 200.
    const failure = text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as { error?: string; errorDetail?: { message?: string } })
      .find((message) => message.error || message.errorDetail);
    if (failure) throw new Error(`${path}: ${failure.errorDetail?.message ?? failure.error}`);
    return text;
  } finally {
    await dispatcher.close();
  }
}

/**
 * Puts a base image into the registry for real: builds a FROM scratch busybox image on the engine
 * (classic builder: it needs no session) and pushes it with POST /images/{name}/push and X-Registry-Auth.
 * Returns the image's full name, `<host>/<repository>:<tag>`.
 */
export async function pushBaseImage(
  engineUrl: string,
  registry: RegistryService,
  repository: string,
  tag = '1',
): Promise<string> {
  const name = `${registry.host}/${repository}`;
  const context = await mkdtemp(join(tmpdir(), 'slipway-base-image-'));
  try {
    await cp(BUSYBOX, join(context, 'busybox'));
    await writeFile(join(context, 'Dockerfile'), 'FROM scratch\nCOPY busybox /bin/busybox\n');
    const query = new URLSearchParams({ t: `${name}:${tag}`, version: '1', rm: '1' });
    await engineCall(engineUrl, `/build?${query}`, {
      headers: { 'content-type': 'application/x-tar' },
      body: tarFs.pack(context) as unknown as Readable,
    });
  } finally {
    await rm(context, { recursive: true, force: true });
  }
  await engineCall(engineUrl, `/images/${encodeURIComponent(name)}/push?tag=${encodeURIComponent(tag)}`, {
    headers: { 'x-registry-auth': registryAuthHeader(registry) },
  });
  return `${name}:${tag}`;
}

/** Removes an image from the engine (so the next build must pull it from the registry). */
export async function removeImage(engineUrl: string, name: string): Promise<void> {
  const dispatcher = new Agent({ connect: { socketPath: engineUrl.replace('unix://', '') } });
  try {
    const response = await request(`http://localhost/images/${encodeURIComponent(name)}?force=1`, {
      method: 'DELETE',
      dispatcher,
    });
    await response.body.dump();
    if (response.statusCode !== 200 && response.statusCode !== 404) {
      throw new Error(`DELETE /images/${name} answered ${response.statusCode}`);
    }
  } finally {
    await dispatcher.close();
  }
}
