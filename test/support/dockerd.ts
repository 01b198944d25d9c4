import { spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { dockerdArgs } from './dockerd-args.mjs';
import { type EngineService, startEngineService } from './engine-service';

export type DockerService = EngineService;

/** Why the Docker Engine tests cannot run here, or null when dockerd is installed. */
export function dockerdMissing(): string | null {
  const probe = spawnSync('dockerd', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return 'dockerd is not installed (apt-get install -y docker.io)';
  if (process.getuid?.() !== 0) return 'dockerd needs root here';
  return null;
}

/**
 * Starts a private Docker Engine as DESIGN.md shows: vfs storage, no iptables, no bridge, its own
 * root, exec-root, pidfile and socket under one short temporary folder (containerd's socket lives under
 * the exec-root, and unix socket paths are limited to 107 bytes), and waits until it answers /_ping.
 * stop() ends it and removes everything it made.
 */
export async function startDockerd(): Promise<DockerService> {
  // /tmp, not TMPDIR: the exec-root's path must stay short.
  const dir = await mkdtemp('/tmp/slipway-dockerd-');
  const socketPath = join(dir, 'docker.sock');
  return startEngineService({
    command: 'dockerd',
    args: dockerdArgs(dir, socketPath),
    dir,
    socketPath,
    startTimeoutMs: 60_000,
    killAfterMs: 15_000,
  });
}
