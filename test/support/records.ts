import type { Build, BuildStatus } from '../../src/shared/domain';

/**
 * A build record as a session writes it: one task "web", building while the build runs and done once
 * it has finished.
 */
export function buildRecord(id: string, status: BuildStatus): Build {
  return {
    id,
    projectPath: '/projects/shop',
    target: { name: 'default', kind: 'docker', endpoints: [{ region: 'local', url: 'unix:///run/podman.sock' }] },
    region: 'local',
    reason: 'the local engine',
    startedAt: '2026-11-26T10:00:00.000Z',
    finishedAt: status === 'running' ? null : '2026-11-26T10:01:00.000Z',
    status,
    tasks: [
      {
        task: { id: 'web', service: 'web', contextPath: '/projects/shop', dockerfile: 'Dockerfile' },
        state:
          status === 'running'
            ? { phase: 'building', step: 2, steps: 3 }
            : { phase: 'done', imageId: null, durationMs: 60_000 },
        tag: 'shop',
        scan: null,
        logLines: 0,
      },
    ],
    error: null,
  };
}
