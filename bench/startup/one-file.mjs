// bench/startup: a one-file build, `slipway build` (the built CLI) against `DOCKER_BUILDKIT=0 docker build
// -q` on the same engine: by default bench/pack's local sink, which answers like an engine at once, so
// what is measured is each client's own start, pack, upload and exit; with `--engine <url>` an engine
// already running (a private Podman as DESIGN.md starts one: `--engine unix:///tmp/x/podman.sock`). Node's own start (`node -e 0`) is measured beside them. Wall time and
// peak RSS come from GNU time; each side's median and best of SLIPWAY_BENCH_ROUNDS rounds (default 7),
// rounds alternating between the sides. Run with `npm run bench:startup` after `npm run build`.
//
// `--base <bin/slipway.js of another build>` adds that build as a side of its own (say, of the commit
// before a change), in the same alternating rounds.
//
// On the sink, each round also gives the time from the client's spawn to its first request, and from
// the end of the sink's last answer to the client's exit: what a client spends before and after the
// network (a median of each is printed).
//
// NODE_EXTRA_CA_CERTS is unset for the Node sides unless --keep-env is given: Node reads and parses
// that bundle at start (about 60 ms here), a setting of the machine, not of either client.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonOption, measure, median, writeJson } from '../gnu-time.mjs';
import { startSink } from '../pack/sink.mjs';

const ROUNDS = Number(process.env.SLIPWAY_BENCH_ROUNDS ?? 7);
const DOCKER = process.env.DOCKER ?? '/usr/local/bin/docker';
const bin = new URL('../../bin/slipway.js', import.meta.url).pathname;
const argv = process.argv.slice(2);
const keepEnv = argv.includes('--keep-env');
const engineArg =
  argv.find((arg) => arg.startsWith('--engine='))?.slice('--engine='.length) ??
  (argv.includes('--engine') ? argv[argv.indexOf('--engine') + 1] : 'sink');
const baseBin = argv.includes('--base') ? argv[argv.indexOf('--base') + 1] : null;

/** The goals of issue #18 for this work. */
const GOAL_SECONDS = 0.15;
const GOAL_RATIO = 5;

async function main() {
  if (!existsSync(new URL('../../out/cli/index.js', import.meta.url))) throw new Error('Run `npm run build` first.');
  const work = await mkdtemp(join(tmpdir(), 'slipway-bench-startup-'));
  const context = join(work, 'one-file');
  await mkdir(context);
  await writeFile(join(context, 'Dockerfile'), 'FROM scratch\nCOPY hello.txt /hello.txt\n');
  await writeFile(join(context, 'hello.txt'), 'hello\n');
  const engine =
    engineArg === 'sink'
      ? await startSink().then((sink) => ({ url: `tcp://127.0.0.1:${sink.port}`, close: sink.close, sink }))
      : { url: engineArg, close: async () => undefined, sink: null };
  const traffic = { firstRequestMs: null, lastAnswerMs: null };
  engine.sink?.server.on('request', (_request, response) => {
    traffic.firstRequestMs ??= performance.now();
    response.on('finish', () => {
      traffic.lastAnswerMs = performance.now();
    });
  });
  /** Runs a side once; on the sink, with the times before its first request and after the last answer. */
  const timed = async (run) => {
    traffic.firstRequestMs = null;
    traffic.lastAnswerMs = null;
    const spawnedMs = performance.now();
    const figures = await run();
    const exitedMs = performance.now();
    if (traffic.firstRequestMs === null || traffic.lastAnswerMs === null) return figures;
    return {
      ...figures,
      toFirstRequestMs: traffic.firstRequestMs - spawnedMs,
      lastAnswerToExitMs: exitedMs - traffic.lastAnswerMs,
    };
  };
  const nodeEnv = { ...process.env };
  if (!keepEnv) delete nodeEnv.NODE_EXTRA_CA_CERTS;
  const report = join(work, 'time.txt');
  const sides = {
    slipway: () =>
      // As a user runs it: bin/slipway.js's #! line sets its memory settings.
      measure(bin, ['build', context, '--builder', engine.url, '--data-dir', join(work, 'data')], {
        env: nodeEnv,
        report,
      }),
    ...(baseBin && {
      'slipway base': () =>
        measure(baseBin, ['build', context, '--builder', engine.url, '--data-dir', join(work, 'data-base')], {
          env: nodeEnv,
          report,
        }),
    }),
    'docker CLI': () =>
      measure(DOCKER, ['build', '-q', context], {
        env: {
          ...process.env,
          DOCKER_HOST: engine.url,
          DOCKER_BUILDKIT: '0',
          DOCKER_CONFIG: join(work, 'docker-config'),
        },
        report,
      }),
    "node's start": () => measure(process.execPath, ['-e', '0'], { env: nodeEnv, report }),
  };
  const figures = Object.fromEntries(Object.keys(sides).map((side) => [side, []]));
  try {
    // One round of each first, unmeasured: the page cache and the engine warm up.
    for (const run of Object.values(sides)) await run();
    for (let round = 0; round < ROUNDS; round++) {
      for (const [side, run] of Object.entries(sides)) figures[side].push(await timed(run));
    }
  } finally {
    await engine.close();
    await rm(work, { recursive: true, force: true });
  }
  const rows = Object.entries(figures).map(([client, runs]) => ({
    client,
    seconds: median(runs.map((run) => run.seconds)),
    bestSeconds: Math.min(...runs.map((run) => run.seconds)),
    peakRssMiB: Math.max(...runs.map((run) => run.peakRssMiB)),
    cpuSeconds: median(runs.map((run) => run.cpuSeconds)),
    rounds: runs.length,
    ...(runs.every((run) => run.toFirstRequestMs !== undefined) && {
      toFirstRequestMs: Math.round(median(runs.map((run) => run.toFirstRequestMs))),
      lastAnswerToExitMs: Math.round(median(runs.map((run) => run.lastAnswerToExitMs))),
    }),
  }));
  console.log(
    `One-file build on ${engineArg === 'sink' ? 'the local sink' : engineArg}, ${ROUNDS} rounds` +
      (keepEnv ? '' : ' (NODE_EXTRA_CA_CERTS unset for Node)') +
      `, load average ${loadavg()
        .map((load) => load.toFixed(2))
        .join(' ')}`,
  );
  for (const row of rows) {
    console.log(
      `  ${row.client.padEnd(14)} median ${row.seconds.toFixed(2)} s  best ${row.bestSeconds.toFixed(2)} s  CPU ${row.cpuSeconds.toFixed(2)} s  peak RSS ${row.peakRssMiB.toFixed(0)} MiB` +
        (row.toFirstRequestMs === undefined
          ? ''
          : `  spawn→first request ${row.toFirstRequestMs} ms, last answer→exit ${row.lastAnswerToExitMs} ms`),
    );
  }
  const slipway = rows[0];
  const docker = rows.find((row) => row.client === 'docker CLI');
  const base = rows.find((row) => row.client === 'slipway base');
  console.log(`  slipway: ${slipway.seconds.toFixed(2)} s (at most ${GOAL_SECONDS} s wanted)`);
  console.log(
    `  slipway / docker CLI = ${(slipway.seconds / docker.seconds).toFixed(1)} (at most ${GOAL_RATIO} wanted)`,
  );
  console.log(`  slipway peak RSS ${slipway.peakRssMiB.toFixed(0)} MiB (at most 80 MB wanted)`);
  if (base) {
    console.log(
      `  slipway / slipway base = ${(slipway.seconds / base.seconds).toFixed(2)} wall, ${(slipway.cpuSeconds / base.cpuSeconds).toFixed(2)} CPU`,
    );
  }
  await writeJson(jsonOption(argv), { work: 'one-file build', engine: engineArg, rows });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
