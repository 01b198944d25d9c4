// bench/pack, BuildKit session case: on a private dockerd (BuildKit), a context of BENCH_SESSION_MIB
// MiB (default 1024, in 64 MiB files) built once, then one 1 KiB file changed and built again. The
// rebuild is measured: Slipway through BuildKit's session (only what changed crosses the wire), Slipway
// with --no-session (the whole tar body), and the docker CLI: `DOCKER_BUILDKIT=1 docker build` where
// the CLI can speak the session itself (the docker CLI 23 and later needs the buildx plugin for that;
// without it the row says so), and `DOCKER_BUILDKIT=0 docker build` (the classic builder, the whole
// context as a tar) as the baseline every machine has. Then a context of BENCH_SESSION_FILES small
// files (default 100,000 × 1 KiB), built through the session and as a tar: peak RSS of each.
// Bytes are Slipway's own count (the task's bytesSent); times are wall times; peak RSS is GNU time's.
// Run with `node bench/pack/session.mjs` after `npm run build`; needs root, dockerd and GNU time.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withPrivateDockerd } from '../private-dockerd.mjs';

const CONTEXT_MIB = Number(process.env.BENCH_SESSION_MIB ?? 1024);
const SMALL_FILES = Number(process.env.BENCH_SESSION_FILES ?? 100_000);
const CASES = (process.env.BENCH_SESSION_CASES ?? 'big,many').split(',');
const DOCKER = process.env.DOCKER ?? '/usr/bin/docker';
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_S ?? 1800) * 1000;
const bin = new URL('../../bin/slipway.js', import.meta.url).pathname;
const MiB = 1024 * 1024;

/** A command under GNU time: wall time, peak RSS (KiB), its output, and why it failed. */
function measured(command, args, env = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('/usr/bin/time', ['-f', 'PEAK %M', command, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout = (stdout + chunk).slice(-200_000);
    });
    child.stderr.on('data', (chunk) => {
      stderr = (stderr + chunk).slice(-20_000);
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const peak = /PEAK (\d+)/.exec(stderr);
      resolve({
        ms: performance.now() - started,
        kib: peak ? Number(peak[1]) : 0,
        stdout,
        stderr,
        failed:
          code === 0
            ? null
            : `exited ${code}: ${stderr
                .replace(/PEAK \d+\s*$/, '')
                .trim()
                .slice(-300)}`,
      });
    });
  });
}

/** `slipway build --json`, and the context bytes its task's final state says crossed the wire. */
async function slipway(socket, context, data, extra = []) {
  const args = ['build', context, '--json', '--builder', `unix://${socket}`, '--builder-version', '2'];
  const run = await measured(process.execPath, [bin, ...args, '--network', 'none', '--data-dir', data, ...extra]);
  let bytes = null;
  for (const line of run.stdout.split('\n')) {
    if (!line.includes('"task.state"')) continue;
    const { state } = JSON.parse(line);
    if (state.phase === 'done') bytes = state.bytesSent ?? null;
  }
  return { ...run, bytes };
}

function docker(socket, context, buildkit) {
  return measured(DOCKER, ['-H', `unix://${socket}`, 'build', '-q', '--network', 'none', context], {
    DOCKER_BUILDKIT: buildkit ? '1' : '0',
  });
}

const size = (bytes) => (bytes === null ? '?' : `${(bytes / MiB).toFixed(bytes < 10 * MiB ? 3 : 0)} MiB`);
const row = (name, run, bytes) =>
  run.failed
    ? `  ${name.padEnd(46)} unavailable: ${run.failed}`
    : `  ${name.padEnd(46)} ${size(bytes).padStart(12)} ${`${(run.ms / 1000).toFixed(1)} s`.padStart(9)} ${`${(run.kib / 1024).toFixed(0)} MiB RSS`.padStart(14)}`;

async function main() {
  await withPrivateDockerd('slipway-bench-se-', {}, async (dir, socket) => {
    if (CASES.includes('big')) await bigContext(dir, socket);
    if (CASES.includes('many')) await manyFiles(dir, socket);
  });
}

const chunk = randomBytes(MiB);

/** The big context built, one 1 KiB file changed, rebuilt each way. */
async function bigContext(dir, socket) {
  const context = join(dir, 'big');
  await mkdir(context);
  for (let index = 0; index < CONTEXT_MIB / 64; index++) {
    // Each file its own content, so no layer deduplicates another.
    const file = Buffer.alloc(64 * MiB);
    for (let at = 0; at < file.length; at += MiB) {
      chunk.copy(file, at);
      file.writeUInt32LE(index * 64 + at / MiB, at);
    }
    await writeFile(join(context, `blob-${index}.bin`), file);
  }
  await writeFile(join(context, 'changed.txt'), randomBytes(512).toString('hex'));
  await writeFile(join(context, 'Dockerfile'), 'FROM scratch\nCOPY . /ctx\n');
  const data = join(dir, 'data');
  const change = () => writeFile(join(context, 'changed.txt'), randomBytes(512).toString('hex'));
  console.log(`A ${CONTEXT_MIB} MiB context on a private dockerd (BuildKit): one 1 KiB file changed, then rebuilt`);
  console.log(`  ${'rebuild'.padEnd(46)} ${'context sent'.padStart(12)} ${'wall'.padStart(9)} ${'peak'.padStart(14)}`);

  const warm = await slipway(socket, context, data);
  if (warm.failed) throw new Error(`Slipway's first build failed: ${warm.failed}`);
  await change();
  const session = await slipway(socket, context, data);
  console.log(row("Slipway, BuildKit's session", session, session.bytes));
  await change();
  const tar = await slipway(socket, context, data, ['--no-session']);
  console.log(row('Slipway, tar body (--no-session)', tar, tar.bytes));
  await change();
  const cliWarm = await docker(socket, context, true);
  let cli = cliWarm;
  if (!cliWarm.failed) {
    await change();
    cli = await docker(socket, context, true);
  }
  console.log(row('DOCKER_BUILDKIT=1 docker build (its session)', cli, null));
  await change();
  const classic = await docker(socket, context, false);
  console.log(row('DOCKER_BUILDKIT=0 docker build (whole tar)', classic, null));
  if (!session.failed && !tar.failed) {
    console.log(
      `ratio: the session sends ${(tar.bytes / Math.max(1, session.bytes)).toFixed(0)}x fewer bytes than the tar body, in ${(session.ms / tar.ms).toFixed(2)}x its time, at ${(session.kib / Math.max(1, tar.kib)).toFixed(2)}x its peak RSS`,
    );
  }
  if (!session.failed && !cli.failed)
    console.log(`ratio: Slipway's session rebuild ${(cli.ms / session.ms).toFixed(2)}x the docker CLI's speed`);
  if (!session.failed && !classic.failed) {
    console.log(
      `ratio: Slipway's session rebuild ${(classic.ms / session.ms).toFixed(2)}x the speed of the classic docker build`,
    );
  }

  await rm(context, { recursive: true, force: true });
}

/** Many small files, built through the session and as a tar: the memory of each. */
async function manyFiles(dir, socket) {
  const many = join(dir, 'many');
  for (let folder = 0; folder < Math.ceil(SMALL_FILES / 1000); folder++) {
    await mkdir(join(many, `d${folder}`), { recursive: true });
    for (let index = folder * 1000; index < Math.min(SMALL_FILES, (folder + 1) * 1000); index++) {
      await writeFile(join(many, `d${folder}`, `f${index}.txt`), chunk.subarray(index % 1000, (index % 1000) + 1024));
    }
  }
  await writeFile(join(many, 'Dockerfile'), 'FROM scratch\nCOPY . /ctx\n');
  console.log(`\n${SMALL_FILES.toLocaleString('en')} files of 1 KiB, first build: memory of each way`);
  const manySession = await slipway(socket, many, join(dir, 'data-many'));
  console.log(row("Slipway, BuildKit's session", manySession, manySession.bytes));
  const manyTar = await slipway(socket, many, join(dir, 'data-many'), ['--no-session', '--no-cache']);
  console.log(row('Slipway, tar body (--no-session)', manyTar, manyTar.bytes));
  if (!manySession.failed && !manyTar.failed) {
    console.log(
      `ratio: the session's peak RSS ${(manySession.kib / Math.max(1, manyTar.kib)).toFixed(2)}x the tar body's`,
    );
  }
}

await main();
