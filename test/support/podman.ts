import { spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EngineService, startEngineService } from './engine-service';

export type PodmanService = EngineService;

/** Why the engine tests cannot run here, or null when Podman is installed. */
export function podmanMissing(): string | null {
  const probe = spawnSync('podman', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0)
    return 'podman is not installed (apt-get install -y podman runc busybox-static)';
  if (spawnSync('runc', ['--version']).error) return 'runc is not installed (apt-get install -y runc)';
  return null;
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
  return startEngineService({ command: 'podman', args, dir, socketPath, startTimeoutMs: 30_000, killAfterMs: 5000 });
}
