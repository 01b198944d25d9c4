// bench/logs, issue #18's log work: a build whose log has BENCH_LOG_LINES lines (default 2,000,000),
// answered by a local sink that speaks like an engine (log-sink.mjs), taken by
//   - `slipway build` printing it to a file, and with --json;
//   - Slipway's browser mode (`slipway serve`, the build started over its API): nothing printed;
//   - `DOCKER_BUILDKIT=0 docker build` printing it to a file (the docker CLI, classic);
//   - balena-cli's `build` against the sink, when BENCH_BALENA_CLI names its binary;
//   - `tar | curl > file`: the floor, the bytes of the answer written as they come.
// Each client's best of SLIPWAY_BENCH_ROUNDS rounds (default 2), clients alternating within a round. Wall time
// and peak RSS from GNU time (browser mode: the build from its start request to its end, and the server's
// peak RSS from /proc). `--json <file>` writes the figures (see bench/run-all.mjs). Run after `npm run build`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonOption, writeJson } from '../gnu-time.mjs';
import { buildServed, startServed } from '../served.mjs';
import { startLogSink } from './log-sink.mjs';
import { measured } from './measure.mjs';

const LINES = Number(process.env.BENCH_LOG_LINES ?? 2_000_000);
const ROUNDS = Number(process.env.SLIPWAY_BENCH_ROUNDS ?? 2);
const DOCKER = process.env.DOCKER ?? '/usr/local/bin/docker';
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_S ?? 600) * 1000;
const bin = new URL('../../bin/slipway.js', import.meta.url).pathname;

function hasCommand(command, args = ['--version']) {
  const probe = spawnSync(command, args, { stdio: 'ignore' });
  return !probe.error && probe.status === 0;
}

/** Browser mode: a served Slipway builds the project through its API; nothing is printed. */
async function browserMode(context, url, data) {
  const served = await startServed(['--builder', url, '--data-dir', data]);
  try {
    const project = await served.call('project.open', { path: context });
    const started = performance.now();
    const build = await buildServed(served, project.id);
    const seconds = (performance.now() - started) / 1000;
    const { peakRssMiB } = served.resident();
    const lines = build.tasks[0]?.logLines ?? 0;
    return { seconds, peakRssMiB, lines, failed: build.status === 'succeeded' ? null : `build ${build.status}` };
  } finally {
    await served.stop();
  }
}

async function main() {
  if (!existsSync(new URL('../../out/cli/index.js', import.meta.url))) throw new Error('Run `npm run build` first.');
  const dir = await mkdtemp(join(tmpdir(), 'slipway-bench-log-'));
  const sink = await startLogSink(LINES);
  const url = `tcp://127.0.0.1:${sink.port}`;
  try {
    const context = join(dir, 'context');
    await mkdir(context);
    await writeFile(join(context, 'Dockerfile'), 'FROM scratch\nRUN make\n');
    const printed = join(dir, 'printed.txt');
    const slipway = (extra) => (round) =>
      // As a user runs it: bin/slipway.js's #! line sets its memory settings.
      measured(bin, ['build', context, '--builder', url, '--data-dir', join(dir, `data-${round}`), ...extra], {
        stdoutFile: printed,
        timeoutMs: TIMEOUT_MS,
      });
    const clients = [
      { client: 'slipway build', run: slipway([]) },
      { client: 'slipway build --json', run: slipway(['--json']) },
      { client: 'slipway browser mode', run: (round) => browserMode(context, url, join(dir, `served-${round}`)) },
    ];
    if (hasCommand(DOCKER)) {
      clients.push({
        client: 'docker build (classic)',
        run: () =>
          measured(DOCKER, ['-H', url, 'build', context], {
            env: { DOCKER_BUILDKIT: '0' },
            stdoutFile: printed,
            timeoutMs: TIMEOUT_MS,
          }),
      });
    } else console.log(`(no docker CLI at ${DOCKER}: set DOCKER to run it)`);
    // The BuildKit docker CLI needs an engine that serves BuildKit's session; that baseline is bench:logs:buildkit.
    const balena = process.env.BENCH_BALENA_CLI;
    if (balena) {
      clients.push({
        client: 'balena build',
        run: () =>
          measured(
            balena,
            [
              'build',
              context,
              '--dockerHost',
              '127.0.0.1',
              '--dockerPort',
              String(sink.port),
              '--arch',
              'amd64',
              '--deviceType',
              'intel-nuc',
            ],
            { stdoutFile: printed, timeoutMs: TIMEOUT_MS },
          ),
      });
    }
    if (hasCommand('curl') && hasCommand('tar')) {
      clients.push({
        client: 'tar | curl > file',
        run: () =>
          measured(
            'sh',
            [
              '-c',
              `tar -cf - -C "$1" . | curl -sS --fail -X POST -H 'Content-Type: application/x-tar' -T - "http://127.0.0.1:${sink.port}/v1.41/build" -o "$2"`,
              'sh',
              context,
              printed,
            ],
            { timeoutMs: TIMEOUT_MS },
          ),
      });
    }
    console.log(`A build log of ${LINES.toLocaleString('en')} lines from a local sink; best of ${ROUNDS} round(s)`);
    const best = new Map();
    for (let round = 0; round < ROUNDS; round++) {
      for (const { client, run } of clients) {
        const result = await run(round);
        await rm(join(dir, `data-${round}`), { recursive: true, force: true });
        const kept = best.get(client);
        if (!kept || (kept.failed && !result.failed) || (!result.failed && result.seconds < kept.seconds))
          best.set(client, result);
      }
    }
    const rows = clients.map(({ client }) => ({ client, ...best.get(client) }));
    for (const row of rows) {
      console.log(
        `${row.client.padEnd(26)} ${row.seconds.toFixed(2).padStart(7)} s  peak RSS ${(row.peakRssMiB ?? 0).toFixed(0).padStart(4)} MiB${row.failed ? `  (failed: ${row.failed})` : ''}`,
      );
    }
    await writeJson(jsonOption(), { work: 'log-2m', rows });
  } finally {
    await sink.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
