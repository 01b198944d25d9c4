// `npm run bench`: every work of issue #18 against every baseline present, in alternating rounds (each
// round runs every work once, one round of each inside), one table with ratios and each goal met or
// missed by how much, and the figures as JSON (bench/results/<time>.json, or BENCH_OUT).
// A work is a script that takes `--json <file>` and writes {work, rows: [{client, seconds, peakRssMiB}]}
// there (or a list of those); a script that does not take --json yet is skipped, saying so.
// SLIPWAY_BENCH_ROUNDS: rounds (default 2); BENCH_WORKS: a comma-separated subset of the scripts' names
// (logs, pack, startup, memory, buildkit); BENCH_BALENA_CLI: a balena-cli binary to run as a baseline.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const ROUNDS = Number(process.env.SLIPWAY_BENCH_ROUNDS ?? 2);
const MB = 1_000_000 / 2 ** 20;

// The docker CLI's rows: classic first where a work has both (a work's rows keep the order it ran them).
const docker = (client) => /^(DOCKER_BUILDKIT=1 )?docker/.test(client);
const floor = (client) => /tar \| curl/.test(client);

/** Issue #18's goals: a row's figure against a bound, or against another row's (a ratio). */
const GOALS = {
  'log-2m': [
    { client: 'slipway build', of: docker, ratio: 0.5 },
    { client: 'slipway build --json', of: docker, ratio: 0.7 },
    { client: 'slipway browser mode', of: floor, ratio: 1.5 },
    { client: 'slipway build', peakRssMiB: 80 * MB },
    { client: 'slipway build --json', peakRssMiB: 80 * MB },
    { client: 'slipway browser mode', peakRssMiB: 100 * MB },
  ],
  'one-file build': [
    { client: 'slipway', seconds: 0.15 },
    { client: 'slipway', of: docker, ratio: 5 },
    { client: 'slipway', peakRssMiB: 80 * MB },
  ],
  'pack big': [
    { client: 'slipway', of: floor, ratio: 1.2 },
    { client: 'slipway', peakRssMiB: 80 * MB },
  ],
  'pack many': [
    { client: 'slipway', of: floor, ratio: 1.5 },
    { client: 'slipway', peakRssMiB: 80 * MB },
  ],
  // The engine of browser mode after 30 builds (bench/memory/serve-builds.mjs): its peak over them.
  'serve 30 builds': [{ client: 'slipway serve', peakRssMiB: 100 * MB }],
  'pack mixed': [
    { client: 'slipway', of: floor, ratio: 1.5 },
    { client: 'slipway', peakRssMiB: 80 * MB },
  ],
};

const WORKS = [
  { name: 'logs', script: 'bench/logs/log-work.mjs' },
  { name: 'pack', script: 'bench/pack/run.mjs' },
  { name: 'startup', script: 'bench/startup/one-file.mjs' },
  { name: 'memory', script: 'bench/memory/serve-builds.mjs' },
  // A private dockerd and a 1M-line RUN: only when asked (BENCH_WORKS=...,buildkit), as root.
  { name: 'buildkit', script: 'bench/logs/buildkit-bench.mjs', optIn: true },
];

/** Runs a work script once with --json; resolves with its works (a script may write one or a list). */
function runWork(script, file) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, script), '--json', file], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, SLIPWAY_BENCH_ROUNDS: process.env.BENCH_WORK_ROUNDS ?? '1' },
    });
    child.on('error', reject);
    child.on('close', async (code) => {
      if (code !== 0) {
        reject(new Error(`${script} exited ${code}`));
        return;
      }
      try {
        const figures = JSON.parse(await readFile(file, 'utf8'));
        resolve(Array.isArray(figures) ? figures : [figures]);
      } catch (error) {
        reject(new Error(`${script} wrote no figures to ${file}: ${error.message}`));
      }
    });
  });
}

const fmt = (seconds) => `${seconds.toFixed(2)} s`;

/** "met" or "missed by N%": how a figure stands against its goal. */
function verdict(value, bound) {
  if (!Number.isFinite(value)) return 'not measured';
  return value <= bound ? 'met' : `missed by ${Math.round((value / bound - 1) * 100)}%`;
}

function judge(work, rows) {
  const find = (match) => rows.find((row) => (typeof match === 'function' ? match(row.client) : row.client === match));
  return (GOALS[work] ?? []).map((goal) => {
    const row = find(goal.client);
    if (!row || row.failed)
      return { ...goal, text: `${goal.client}: not measured${row?.failed ? ` (${row.failed})` : ''}` };
    if (goal.of) {
      const base = find(goal.of);
      if (!base || base.failed) return { ...goal, text: `${goal.client} / baseline: no baseline ran` };
      const ratio = row.seconds / base.seconds;
      return {
        ...goal,
        value: ratio,
        text: `${goal.client} / ${base.client} = ${ratio.toFixed(2)} (at most ${goal.ratio}): ${verdict(ratio, goal.ratio)}`,
      };
    }
    if (goal.seconds !== undefined)
      return {
        ...goal,
        value: row.seconds,
        text: `${goal.client} ${fmt(row.seconds)} (at most ${fmt(goal.seconds)}): ${verdict(row.seconds, goal.seconds)}`,
      };
    return {
      ...goal,
      value: row.peakRssMiB,
      text: `${goal.client} peak RSS ${(row.peakRssMiB / MB).toFixed(0)} MB (at most ${(goal.peakRssMiB / MB).toFixed(0)} MB): ${verdict(row.peakRssMiB, goal.peakRssMiB)}`,
    };
  });
}

/** Keeps each client's fastest run that did not fail. */
function merge(kept, rows) {
  for (const row of rows) {
    const old = kept.get(row.client);
    if (!old || (old.failed && !row.failed) || (!row.failed && row.seconds < old.seconds)) kept.set(row.client, row);
  }
}

function table(results) {
  const lines = ['| work | client | wall | peak RSS | vs docker CLI | vs tar \\| curl |', '|---|---|---|---|---|---|'];
  for (const { work, rows } of results) {
    const base = rows.find((row) => docker(row.client) && !row.failed);
    const low = rows.find((row) => floor(row.client) && !row.failed);
    for (const row of rows) {
      const ratio = (other) =>
        other && !row.failed && other !== row ? `${(row.seconds / other.seconds).toFixed(2)}×` : '';
      const wall = row.failed ? `failed (${row.failed})` : fmt(row.seconds);
      const rss = row.peakRssMiB ? `${(row.peakRssMiB / MB).toFixed(0)} MB` : '-';
      lines.push(
        `| ${work} | ${row.client.replaceAll('|', '\\|')} | ${wall} | ${rss} | ${ratio(base)} | ${ratio(low)} |`,
      );
    }
  }
  return lines.join('\n');
}

async function main() {
  if (!existsSync(join(root, 'out/cli/index.js'))) throw new Error('Run `npm run build` first.');
  const wanted = process.env.BENCH_WORKS?.split(',').map((name) => name.trim());
  const works = WORKS.filter((work) => (wanted ? wanted.includes(work.name) : !work.optIn));
  const runnable = [];
  for (const work of works) {
    const path = join(root, work.script);
    if (!existsSync(path)) console.log(`skipped ${work.name}: ${work.script} is not here`);
    // A script that writes its figures reads its own --json <file> with bench/gnu-time.mjs's jsonOption.
    else if (!/\bjsonOption\(/.test(readFileSync(path, 'utf8')))
      console.log(`skipped ${work.name}: ${work.script} does not take --json <file> yet`);
    else runnable.push(work);
  }
  if (process.env.BENCH_BALENA_CLI) console.log(`balena-cli baseline: ${process.env.BENCH_BALENA_CLI}`);
  const scratch = await mkdtemp(join(tmpdir(), 'slipway-bench-all-'));
  const figures = new Map();
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const work of runnable) {
        console.log(`\n== round ${round + 1}/${ROUNDS}: ${work.script}`);
        const file = join(scratch, `${work.name}-${round}.json`);
        try {
          for (const result of await runWork(work.script, file)) {
            if (!figures.has(result.work)) figures.set(result.work, new Map());
            merge(figures.get(result.work), result.rows);
          }
        } catch (error) {
          console.log(`${work.name} failed this round: ${error.message}`);
        }
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const results = [...figures].map(([work, rows]) => ({ work, rows: [...rows.values()] }));
  for (const result of results) result.goals = judge(result.work, result.rows);
  console.log(`\nBest of ${ROUNDS} alternating round(s) per client (wall and peak RSS from GNU time):\n`);
  console.log(table(results));
  console.log('\nGoals (issue #18):');
  for (const result of results) for (const goal of result.goals) console.log(`  ${result.work}: ${goal.text}`);
  const out =
    process.env.BENCH_OUT ?? join(root, 'bench/results', `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(
    out,
    `${JSON.stringify({ at: new Date().toISOString(), rounds: ROUNDS, results: results.map(({ work, rows, goals }) => ({ work, rows, goals: goals.map(({ text, value }) => ({ text, value })) })) }, null, 2)}\n`,
  );
  console.log(`\nFigures: ${out}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
