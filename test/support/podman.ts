import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
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
 * `insecureRegistries` (host:port) are reached over plain HTTP: Podman treats only "localhost" so by
 * itself, so the service gets its own registries.conf (CONTAINERS_REGISTRIES_CONF) saying so.
 */
export async function startPodman(options: { insecureRegistries?: string[] } = {}): Promise<PodmanService> {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-podman-'));
  const socketPath = join(dir, 'podman.sock');
  const registriesConf = join(dir, 'registries.conf');
  const registries = (options.insecureRegistries ?? []).map(
    (location) => `[[registry]]\nlocation = "${location}"\ninsecure = true\n`,
  );
  await writeFile(registriesConf, ['unqualified-search-registries = []\n', ...registries].join('\n'));
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
  return startEngineService({
    command: 'podman',
    args,
    dir,
    socketPath,
    startTimeoutMs: 30_000,
    killAfterMs: 5000,
    env: { CONTAINERS_REGISTRIES_CONF: registriesConf },
  });
}
