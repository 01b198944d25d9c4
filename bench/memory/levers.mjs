// bench/memory/levers: what each process-wide memory lever (V8 flags, glibc malloc settings) does to the
// CLI's peak RSS, wall time and CPU time on two of issue #18's works: the 2,000,000-line log printed to a
// file (bench/logs' sink) and `pack big` (bench/pack's 8 x 128 MiB + 20,000 files). Every lever runs the
// built CLI as `node <flags> bin/slipway.js` with its environment, alternating levers within a round;
// each lever's best round counts (SLIPWAY_BENCH_ROUNDS, default 2). BENCH_LEVERS: a comma-separated subset
// of the levers' names; BENCH_LEVER_WORKS: `log`, `pack` or both (default). Run after `npm run build`.
import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchSettings } from '../../scripts/launch-settings.js';
import { measure } from '../gnu-time.mjs';
import { startLogSink } from '../logs/log-sink.mjs';
import { ensureContexts } from '../pack/contexts.mjs';
import { startSink } from '../pack/sink.mjs';

const ROUNDS = Number(process.env.SLIPWAY_BENCH_ROUNDS ?? 2);
const LINES = Number(process.env.BENCH_LOG_LINES ?? 2_000_000);
const BASE = process.env.SLIPWAY_BENCH_DIR ?? join(tmpdir(), 'slipway-bench-pack');
const bin = new URL('../../bin/slipway.js', import.meta.url).pathname;

// Not a lever: --lite-mode turns WebAssembly off, and undici's HTTP parser is WebAssembly.
/** A lever: Node's flags before the script, and environment added to this process's. */
const LEVERS = [
  { name: 'none', flags: [], env: {} },
  { name: '--max-semi-space-size=1', flags: ['--max-semi-space-size=1'], env: {} },
  { name: '--max-semi-space-size=2', flags: ['--max-semi-space-size=2'], env: {} },
  { name: 'MALLOC_ARENA_MAX=2', flags: [], env: { MALLOC_ARENA_MAX: '2' } },
  { name: 'MALLOC_MMAP_THRESHOLD_=128K', flags: [], env: { MALLOC_MMAP_THRESHOLD_: '131072' } },
  { name: 'MALLOC_MMAP_THRESHOLD_=32K', flags: [], env: { MALLOC_MMAP_THRESHOLD_: '32768' } },
  { name: '--single-threaded-gc', flags: ['--single-threaded-gc'], env: {} },
  {
    name: 'arenas 2 + mmap 128K',
    flags: [],
    env: { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' },
  },
  // What bin/slipway.js's #! line ships.
  { name: 'as shipped', flags: launchSettings().nodeFlags, env: launchSettings().env },
  {
    name: 'semi 1 + arenas 2 + mmap 128K',
    flags: ['--max-semi-space-size=1'],
    env: { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' },
  },
];

async function main() {
  if (process.argv.includes('--help')) {
    console.log(`Levers: ${LEVERS.map((lever) => lever.name).join(', ')}`);
    return;
  }
  const wantedLevers = process.env.BENCH_LEVERS?.split(',').map((name) => name.trim());
  const levers = LEVERS.filter((lever) => !wantedLevers || wantedLevers.includes(lever.name));
  const wantedWorks = (process.env.BENCH_LEVER_WORKS ?? 'log,pack').split(',');
  const dir = await mkdtemp(join(tmpdir(), 'slipway-bench-levers-'));
  const logSink = await startLogSink(LINES);
  const packSink = await startSink();
  try {
    const works = [];
    if (wantedWorks.includes('log')) {
      const context = join(dir, 'log-context');
      await mkdir(context);
      await writeFile(join(context, 'Dockerfile'), 'FROM scratch\nRUN make\n');
      const printed = join(dir, 'printed.txt');
      works.push({
        name: `log ${LINES} lines`,
        args: (round) => [
          'build',
          context,
          '--builder',
          `tcp://127.0.0.1:${logSink.port}`,
          '--data-dir',
          join(dir, `data-log-${round}`),
        ],
        stdout: printed,
      });
    }
    if (wantedWorks.includes('pack')) {
      const big = (await ensureContexts(BASE)).find((context) => context.work === 'pack big');
      works.push({
        name: 'pack big',
        args: (round) => [
          'build',
          big.path,
          '--builder',
          `tcp://127.0.0.1:${packSink.port}`,
          '--data-dir',
          join(dir, `data-pack-${round}`),
          '--json',
        ],
        stdout: 'ignore',
      });
    }
    const best = new Map();
    for (let round = 0; round < ROUNDS; round++) {
      for (const work of works) {
        for (const lever of levers) {
          const report = join(dir, 'time.txt');
          const stdout = work.stdout === 'ignore' ? 'ignore' : openSync(work.stdout, 'w');
          const figure = await measure(process.execPath, [...lever.flags, bin, ...work.args(`${round}`)], {
            env: { ...process.env, ...lever.env },
            report,
            stdout,
          });
          if (typeof stdout === 'number') closeSync(stdout);
          await rm(join(dir, `data-${work.name.split(' ')[0]}-${round}`), { recursive: true, force: true });
          const key = `${work.name}\t${lever.name}`;
          const kept = best.get(key);
          if (!kept || figure.seconds < kept.seconds) best.set(key, figure);
          console.log(
            `round ${round + 1}: ${work.name}, ${lever.name}: ${figure.seconds.toFixed(2)} s, CPU ${figure.cpuSeconds.toFixed(2)} s, peak RSS ${figure.peakRssMiB.toFixed(0)} MiB`,
          );
        }
      }
    }
    console.log(
      '\n| work | lever | wall | CPU | peak RSS | wall vs none | CPU vs none |\n|---|---|---|---|---|---|---|',
    );
    for (const work of works) {
      const none = best.get(`${work.name}\tnone`);
      for (const lever of levers) {
        const figure = best.get(`${work.name}\t${lever.name}`);
        const ratio = (key) => (none ? `${(figure[key] / none[key]).toFixed(2)}×` : '');
        console.log(
          `| ${work.name} | ${lever.name} | ${figure.seconds.toFixed(2)} s | ${figure.cpuSeconds.toFixed(2)} s | ${figure.peakRssMiB.toFixed(0)} MiB | ${ratio('seconds')} | ${ratio('cpuSeconds')} |`,
        );
      }
    }
  } finally {
    await logSink.close();
    await packSink.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
