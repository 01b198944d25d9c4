// bench/pack: Slipway's pack+upload (the built CLI) against `DOCKER_BUILDKIT=0 docker build` and
// `tar -cf - . | curl -T -`, all uploading to the same local sink, on two generated contexts.
// Run with `npm run bench:pack` after `npm run build`. Peak RSS and CPU time come from GNU time, per
// process (tar and curl summed). Each side's fastest of SLIPWAY_BENCH_ROUNDS rounds (default 3) counts: on a
// shared machine wall times swing with the load, CPU times much less.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { jsonOption, writeJson } from '../gnu-time.mjs';
import { ensureContexts } from './contexts.mjs';
import { startSink } from './sink.mjs';

const BASE = process.env.SLIPWAY_BENCH_DIR ?? join(tmpdir(), 'slipway-bench-pack');
const ROUNDS = Number(process.env.SLIPWAY_BENCH_ROUNDS ?? 3);
const bin = new URL('../../bin/slipway.js', import.meta.url).pathname;
const DOCKER = process.env.DOCKER ?? '/usr/local/bin/docker';

/** Runs a command; resolves with its wall time. `onLine` gets each line of its stdout, as it comes. */
function timed(command, args, options = {}, onLine = null) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', onLine ? 'pipe' : 'ignore', 'pipe'], ...options });
    if (onLine) createInterface({ input: child.stdout }).on('line', onLine);
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
      else resolve(ms);
    });
  });
}

/** GNU time's "%M %U %S" lines (one per process of a side): summed peak RSS (KiB) and CPU seconds. */
async function usage(file) {
  let kib = 0;
  let cpuSeconds = 0;
  for (const line of (await readFile(file, 'utf8')).trim().split('\n')) {
    const [rss, user, system] = line.trim().split(/\s+/).map(Number);
    if (!Number.isFinite(rss)) continue;
    kib += rss;
    cpuSeconds += (user ?? 0) + (system ?? 0);
  }
  return { kib, cpuSeconds };
}

const mib = (kib) => `${(kib / 1024).toFixed(0)} MiB`;
const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;

async function main() {
  if (!existsSync(join(bin, '../../out/cli/index.js'))) throw new Error('Run `npm run build` first.');
  console.log(`Generating (or reusing) contexts under ${BASE} ...`);
  const argv = process.argv.slice(2);
  const only = argv.includes('--work') ? argv[argv.indexOf('--work') + 1] : null;
  const contexts = (await ensureContexts(BASE)).filter((context) => !only || context.work === only);
  if (contexts.length === 0) throw new Error(`No work ${only}: pack big, pack many or pack mixed`);
  const works = [];
  const sink = await startSink();
  const url = `tcp://127.0.0.1:${sink.port}`;
  const work = await mkdtemp(join(tmpdir(), 'slipway-bench-run-'));
  // Slipway's own account of its pack+upload: from the task's first state ("packing", the scan already
  // started) to "building" (the engine answered the whole body), without the process's start and end.
  let phase = null;
  const watchPhases = (line) => {
    const event = JSON.parse(line);
    if (event.type !== 'task.state') return;
    if (event.state.phase === 'packing') phase.packing ??= performance.now();
    if (event.state.phase === 'building') phase.building ??= performance.now();
  };
  const sides = {
    slipway: (ctx, rss) => {
      phase = {};
      return timed(
        '/usr/bin/time',
        [
          '-f',
          '%M %U %S',
          '-o',
          rss,
          // As a user runs it: bin/slipway.js's #! line sets its memory settings.
          bin,
          'build',
          ctx,
          '--builder',
          url,
          '--data-dir',
          join(work, 'data'),
          '--json',
        ],
        {},
        watchPhases,
      );
    },
    docker: (ctx, rss) =>
      timed('/usr/bin/time', ['-f', '%M %U %S', '-o', rss, DOCKER, 'build', '-q', ctx], {
        env: { ...process.env, DOCKER_HOST: url, DOCKER_BUILDKIT: '0', DOCKER_CONFIG: join(work, 'docker-config') },
      }),
    'tar | curl': (ctx, rss) =>
      timed('sh', [
        '-c',
        `cd "${ctx}" && /usr/bin/time -f '%M %U %S' -o "${rss}.tar" tar -cf - . | /usr/bin/time -f '%M %U %S' -o "${rss}.curl" curl -sS -T - -o /dev/null http://127.0.0.1:${sink.port}/build && cat "${rss}.tar" "${rss}.curl" > "${rss}"`,
      ]),
  };
  const results = [];
  try {
    for (const context of contexts) {
      // Warm the page cache so every side reads from memory, as the first would not.
      await sides['tar | curl'](context.path, join(work, 'warm'));
      const best = {};
      for (let round = 0; round < ROUNDS; round++) {
        for (const [side, run] of Object.entries(sides)) {
          const rss = join(work, `${side.replace(/\W+/g, '-')}.rss`);
          const ms = await run(context.path, rss);
          const { kib, cpuSeconds } = await usage(rss);
          const bytes = sink.received.at(-1);
          const phaseMs = side === 'slipway' ? phase.building - phase.packing : null;
          if (!best[side] || ms < best[side].ms) best[side] = { ms, kib, cpuSeconds, bytes, phaseMs };
        }
      }
      results.push({ context: context.name, ...best });
      works.push({
        work: context.work,
        context: context.name,
        rows: Object.entries(best).map(([client, figure]) => ({
          client,
          seconds: Math.round(figure.ms) / 1000,
          peakRssMiB: Math.round((figure.kib / 1024) * 10) / 10,
          cpuSeconds: Math.round(figure.cpuSeconds * 100) / 100,
          bytes: figure.bytes,
        })),
      });
      const s = best.slipway;
      console.log(`\n${context.name}`);
      for (const [side, figure] of Object.entries(best)) {
        console.log(
          `  ${side.padEnd(11)} ${seconds(figure.ms).padStart(9)}  CPU ${figure.cpuSeconds.toFixed(2).padStart(6)} s  peak RSS ${mib(figure.kib).padStart(8)}  sent ${figure.bytes} bytes`,
        );
      }
      console.log(`  slipway / docker     = ${(s.ms / best.docker.ms).toFixed(2)} (at or below 1.00 wanted)`);
      console.log(
        `  slipway / tar | curl = ${(s.ms / best['tar | curl'].ms).toFixed(2)} (at most ${context.goal.toFixed(2)} wanted)`,
      );
      console.log(
        `  CPU time: slipway / docker = ${(s.cpuSeconds / best.docker.cpuSeconds).toFixed(2)}, slipway / tar | curl = ${(s.cpuSeconds / best['tar | curl'].cpuSeconds).toFixed(2)}`,
      );
      console.log(`  slipway peak RSS ${mib(s.kib)} (at most 80 MB wanted)`);
      console.log(
        `  slipway's pack+upload phase alone (first "packing" to "building", in its fastest round): ${seconds(s.phaseMs)}, ${(s.phaseMs / best['tar | curl'].ms).toFixed(2)} x tar | curl`,
      );
    }
  } finally {
    await sink.close();
    await rm(work, { recursive: true, force: true });
  }
  if (process.env.SLIPWAY_BENCH_JSON) console.log(JSON.stringify(results));
  await writeJson(jsonOption(argv), works.length === 1 ? works[0] : works);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
