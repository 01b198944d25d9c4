import { setImmediate } from 'node:timers/promises';
import { BuildRecordWriter, buildDir } from '../../src/core/builds/build-store';
import { LineFlag } from '../../src/core/logs/log-line';
import { SpoolWriter } from '../../src/core/logs/spool';
import type { Build } from '../../src/shared/domain';

export interface InterleavedLogs {
  tasks: string[];
  linesPerTask: number;
  linesPerWrite: number;
  /** One line marked as an error: `<task> line <n>: boom, exit status 3`. */
  error: { task: string; line: number };
}

/**
 * Writes a finished build whose tasks' logs were spooled in turns, a write of `linesPerWrite` lines
 * each, every write in a millisecond of its own (so the order by time is the order written), with
 * the real spool writer: what several builds running side by side leave on disk. Line n of task t
 * reads `<t> line <n>`. The task with the error failed; the build failed.
 */
export async function writeInterleavedBuild(dataDir: string, buildId: string, logs: InterleavedLogs): Promise<void> {
  const dir = buildDir(dataDir, buildId);
  await new BuildRecordWriter(dir).save(finishedBuild(buildId, logs));
  const spools = await Promise.all(logs.tasks.map((task) => SpoolWriter.open(dir, task)));
  try {
    for (let from = 0; from < logs.linesPerTask; from += logs.linesPerWrite) {
      for (const [t, spool] of spools.entries()) {
        const task = logs.tasks[t] as string;
        const last = Date.now();
        while (Date.now() === last) await setImmediate();
        const count = Math.min(logs.linesPerWrite, logs.linesPerTask - from);
        await spool.write(
          Array.from({ length: count }, (_, i) => {
            const line = from + i;
            const error = task === logs.error.task && line === logs.error.line;
            return {
              text: error ? `${task} line ${line}: boom, exit status 3` : `${task} line ${line}`,
              flags: error ? LineFlag.error : 0,
            };
          }),
        );
      }
    }
  } finally {
    await Promise.all(spools.map((spool) => spool.close()));
  }
}

function finishedBuild(id: string, logs: InterleavedLogs): Build {
  const error = { code: 'E_BUILD_FAILED', message: 'exit status 3' } as const;
  return {
    id,
    projectPath: '/projects/many-services',
    target: { name: 'default', kind: 'docker', endpoints: [{ region: 'local', url: 'unix:///nowhere.sock' }] },
    region: 'local',
    reason: 'logs written by the test',
    startedAt: new Date(Date.now() - 60_000).toISOString(),
    finishedAt: new Date().toISOString(),
    status: 'failed',
    tasks: logs.tasks.map((task) => ({
      task: { id: task, service: task, contextPath: `/projects/many-services/${task}`, dockerfile: 'Dockerfile' },
      state:
        task === logs.error.task
          ? { phase: 'failed', error, durationMs: 60_000 }
          : { phase: 'done', imageId: `sha256:${task}`, durationMs: 60_000 },
      tag: task,
      scan: null,
      logLines: logs.linesPerTask,
    })),
    error,
  };
}
