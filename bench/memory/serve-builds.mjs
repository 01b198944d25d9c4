// bench/memory/serve-builds: issue #18's "browser-mode engine at most 100 MB after 30 builds". `slipway
// serve` (started as a user starts it: bin/slipway.js run as a program, so its #! line's settings apply)
// runs BENCH_SERVE_BUILDS builds (default 30), one after another, of a context of 2,000 small files and
// one of 16 MiB, each answered by bench/logs' sink with a log of BENCH_SERVE_LOG_LINES lines (default
// 100,000); the window's reads of each log's tail and a search go between them. The figures: the
// builds' wall time, the server's peak RSS over the whole run (VmHWM) and its RSS after the last build.
// `--json <file>` writes {work, rows} for bench/run-all.mjs. Run after `npm run build`.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonOption, writeJson } from '../gnu-time.mjs';
import { startLogSink } from '../logs/log-sink.mjs';
import { buildServed, startServed } from '../served.mjs';

const BUILDS = Number(process.env.BENCH_SERVE_BUILDS ?? 30);
const LINES = Number(process.env.BENCH_SERVE_LOG_LINES ?? 100_000);
const MiB = 2 ** 20;

async function makeContext(path) {
  await mkdir(join(path, 'src'), { recursive: true });
  await writeFile(join(path, 'Dockerfile'), 'FROM scratch\nCOPY . /app\nRUN make\n');
  await writeFile(join(path, 'blob.bin'), Buffer.alloc(16 * MiB, 7));
  for (let index = 0; index < 2000; index++) {
    await writeFile(join(path, 'src', `file-${index}.txt`), `file ${index}\n`.repeat(20));
  }
}

async function main() {
  if (!existsSync(new URL('../../out/cli/index.js', import.meta.url))) throw new Error('Run `npm run build` first.');
  const dir = await mkdtemp(join(tmpdir(), 'slipway-bench-serve-'));
  const sink = await startLogSink(LINES);
  let server = null;
  try {
    const context = join(dir, 'context');
    await makeContext(context);
    server = await startServed(['--builder', `tcp://127.0.0.1:${sink.port}`, '--data-dir', join(dir, 'data')]);
    const project = await server.call('project.open', { path: context });
    // Issue #18's "memory estimates shown in the window stay honest": the window shows each task's
    // pipeline estimate beside the engine's RSS; what a build adds to the idle engine is compared with it.
    const [inspected] = (await server.call('project.inspect', { projectId: project.id })).tasks;
    const idle = server.resident();
    const started = performance.now();
    let failed = null;
    for (let index = 0; index < BUILDS; index++) {
      const build = await buildServed(server, project.id);
      const buildId = build.id;
      if (build.status !== 'succeeded') failed ??= `build ${index + 1} ${build.status}`;
      const taskId = build.tasks[0].task.id;
      // What the window does with a finished build: its log's tail, its steps, a search.
      await server.call('logs.read', { buildId, taskId, fromLine: Math.max(0, LINES - 200), count: 200 });
      await server.call('logs.steps', { buildId, taskId });
      await server.call('logs.search', { buildId, taskId, query: 'compiled module 4242' });
    }
    const seconds = (performance.now() - started) / 1000;
    const { rssMiB, peakRssMiB } = server.resident();
    const estimateMiB = inspected.memoryEstimateBytes / MiB;
    console.log(
      `slipway serve, ${BUILDS} builds of ${LINES} log lines each: ${seconds.toFixed(1)} s; RSS after them ${rssMiB.toFixed(0)} MiB, peak ${peakRssMiB.toFixed(0)} MiB (at most ${(100_000_000 / MiB).toFixed(0)} MiB, 100 MB, wanted)`,
    );
    console.log(
      `  idle before the first build ${idle.rssMiB.toFixed(0)} MiB: the builds added at most ${(peakRssMiB - idle.rssMiB).toFixed(0)} MiB; the window's estimate says ${estimateMiB.toFixed(1)} MiB (measured / estimate = ${((peakRssMiB - idle.rssMiB) / estimateMiB).toFixed(2)})`,
    );
    const rows = [
      {
        client: 'slipway serve',
        seconds: Math.round(seconds * 100) / 100,
        peakRssMiB,
        rssAfterMiB: rssMiB,
        idleRssMiB: idle.rssMiB,
        estimateMiB,
        failed,
      },
    ];
    await writeJson(jsonOption(), { work: `serve ${BUILDS} builds`, rows });
  } finally {
    await server?.stop();
    await sink.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
