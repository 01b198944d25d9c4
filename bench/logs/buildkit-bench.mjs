// bench/logs, BuildKit case: a build whose RUN prints BENCH_BUILDKIT_LINES lines (default 1M) on a
// private Docker Engine, through Slipway's BuildKit driver (the built CLI, its log to the spool and
// stdout) against `DOCKER_BUILDKIT=1 docker build --progress=plain` (Debian's docker.io CLI 20.10,
// /usr/bin/docker, speaks BuildKit's session itself). Both print to /dev/null; GNU time gives each
// side's peak RSS. Run with `npm run bench:logs:buildkit` after `npm run build`; needs root, dockerd,
// busybox-static and GNU time.
//
// BuildKit clips a step's log at 2 MiB and 200 KiB/s by default; this engine is started with both
// limits raised (BUILDKIT_STEP_LOG_MAX_SIZE, BUILDKIT_STEP_LOG_MAX_SPEED), a benchmark setting, so
// that the whole output reaches the clients.
import { copyFile, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jsonOption, writeJson } from '../gnu-time.mjs';
import { withPrivateDockerd } from '../private-dockerd.mjs';
import { measured } from './measure.mjs';

const LINES = Number(process.env.BENCH_BUILDKIT_LINES ?? 1_000_000);
const DOCKER = process.env.DOCKER ?? '/usr/bin/docker';
const BASELINE_TIMEOUT_MS = Number(process.env.BENCH_BASELINE_TIMEOUT_S ?? 1800) * 1000;
const bin = new URL('../../bin/slipway.js', import.meta.url).pathname;
const jsonFile = jsonOption();

async function main() {
  // BuildKit's step log limits raised, a benchmark setting: the whole output reaches the clients.
  const limits = { BUILDKIT_STEP_LOG_MAX_SIZE: String(2 ** 30), BUILDKIT_STEP_LOG_MAX_SPEED: String(2 ** 30) };
  await withPrivateDockerd('slipway-bench-bk-', limits, async (dir, socket) => {
    const context = join(dir, 'context');
    await mkdir(context);
    await copyFile('/bin/busybox', join(context, 'busybox'));
    await writeFile(
      join(context, 'Dockerfile'),
      `FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","seq","1","${LINES}"]\n`,
    );
    const data = join(dir, 'data');
    console.log(`A RUN that prints ${LINES.toLocaleString('en')} lines, on a private dockerd (BuildKit)`);
    const slipway = await measured(
      process.execPath,
      [
        bin,
        'build',
        context,
        '--builder',
        `unix://${socket}`,
        '--builder-version',
        '2',
        '--network',
        'none',
        '--no-cache',
        '--data-dir',
        data,
      ],
      { timeoutMs: BASELINE_TIMEOUT_MS },
    );
    const docker = await measured(
      DOCKER,
      ['-H', `unix://${socket}`, 'build', '--progress=plain', '--network', 'none', '--no-cache', context],
      { env: { DOCKER_BUILDKIT: '1' }, timeoutMs: BASELINE_TIMEOUT_MS, stderrLines: true },
    );
    const rate = (side) => `${Math.round(side.lines / side.seconds).toLocaleString('en')} lines/s`;
    const row = (name, side) =>
      `${name.padEnd(44)} ${side.seconds.toFixed(2).padStart(8)} s  ${rate(side).padStart(16)}  peak RSS ${(side.peakRssMiB ?? 0).toFixed(0)} MiB${side.failed ? `  (failed: ${side.failed}, ${side.lines.toLocaleString('en')} lines printed)` : ''}`;
    console.log(row('slipway build (BuildKit driver)', slipway));
    console.log(row('DOCKER_BUILDKIT=1 docker build --progress=plain', docker));
    console.log(
      `ratio: Slipway ${(docker.seconds / slipway.seconds).toFixed(1)}x the docker CLI's speed, ${((slipway.peakRssMiB ?? 0) / Math.max(1, docker.peakRssMiB ?? 0)).toFixed(2)}x its peak RSS`,
    );
    // The line index holds 8 bytes a line.
    const [build] = await readdir(join(data, 'builds'));
    const spooled = (await stat(join(data, 'builds', build, 'main.idx'))).size / 8;
    console.log(
      `Slipway spooled ${spooled.toLocaleString('en')} log lines; the docker CLI printed ${docker.lines.toLocaleString('en')}`,
    );
    await writeJson(jsonFile, {
      work: `buildkit-log-${LINES}`,
      rows: [
        { client: 'slipway build (BuildKit)', ...slipway },
        { client: 'DOCKER_BUILDKIT=1 docker build', ...docker },
      ],
    });
  });
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
