// Measuring a command as bench/ does: GNU time (`/usr/bin/time -f`, Debian's `time`) gives each
// process's wall time, peak RSS and CPU time; `--json <file>` writes a work's rows for `npm run bench`.
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';

export const GNU_TIME = '/usr/bin/time';
/** Wall seconds, peak RSS (KiB), user and system CPU seconds: one line per process measured. */
const FORMAT = '%e %M %U %S';

/**
 * Runs `command` under GNU time, its report written to `report`; resolves with its wall seconds, peak
 * RSS (MiB) and CPU seconds (GNU time overwrites `report` each time). Fails with the tail of its stderr when it exits non-zero.
 */
export function measure(command, args, { env, report, stdout = 'ignore' } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(GNU_TIME, ['-f', FORMAT, '-o', report, command, ...args], {
      env: env ?? process.env,
      stdio: ['ignore', stdout, 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    child.on('error', reject);
    child.on('close', async (code) => {
      try {
        if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`);
        resolve(await readReport(report));
      } catch (error) {
        reject(error);
      }
    });
  });
}

/** Sums the lines of GNU time reports (a pipeline's processes): wall is the longest, RSS and CPU add up. */
export async function readReport(...files) {
  let seconds = 0;
  let kib = 0;
  let cpuSeconds = 0;
  for (const file of files) {
    for (const line of (await readFile(file, 'utf8')).trim().split('\n')) {
      const [wall, rss, user, system] = line.trim().split(/\s+/).map(Number);
      if (!Number.isFinite(rss)) continue;
      seconds = Math.max(seconds, wall);
      kib += rss;
      cpuSeconds += user + system;
    }
  }
  return { seconds, peakRssMiB: Math.round((kib / 1024) * 10) / 10, cpuSeconds: Math.round(cpuSeconds * 100) / 100 };
}

/** The value of `--json <file>` (or `--json=<file>`) in argv, or null. */
export function jsonOption(argv = process.argv.slice(2)) {
  const at = argv.findIndex((arg) => arg === '--json' || arg.startsWith('--json='));
  if (at === -1) return null;
  const value = argv[at].startsWith('--json=') ? argv[at].slice('--json='.length) : argv[at + 1];
  if (!value || value.startsWith('--')) throw new Error('--json needs a file to write');
  return value;
}

/** Writes `{ work, rows }` (or a list of them) to the --json file, when one was asked for. */
export async function writeJson(file, works) {
  if (file) await writeFile(file, `${JSON.stringify(works, null, 2)}\n`);
}

/** The median of numbers. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
