import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PodmanService {
  socketPath: string;
  url: string;
  stop(): Promise<void>;
}

/** Why the engine tests cannot run here, or null when Podman is installed. */
export function podmanMissing(): string | null {
  const probe = spawnSync('podman', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0)
    return 'podman is not installed (apt-get install -y podman runc busybox-static)';
  if (spawnSync('runc', ['--version']).error) return 'runc is not installed (apt-get install -y runc)';
  return null;
}

function pingOnce(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/**
 * Starts a private Podman service on a temporary unix socket, with its own storage (vfs), runc and
 * cgroupfs, and waits until it answers /_ping. stop() ends it and removes everything it made.
 */
export async function startPodman(): Promise<PodmanService> {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-podman-'));
  const socketPath = join(dir, 'podman.sock');
  const args = [
    '--root',
    join(dir, 'root'),
    '--runroot',
    join(dir, 'runroot'),
    '--storage-driver',
    'vfs',
    '--runtime',
    'runc',
    '--cgroup-manager',
    'cgroupfs',
    'system',
    'service',
    '--time=0',
    `unix://${socketPath}`,
  ];
  const child: ChildProcess = spawn('podman', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 16_384) stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (await pingOnce(socketPath)) return { socketPath, url: `unix://${socketPath}`, stop };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error(`Podman did not answer /_ping on ${socketPath} within 30 s:\n${stderr}`);
}
