// How bench/logs runs a client: under GNU time (wall time and peak RSS, as issue #18 measured them), its
// own process group so that a timeout ends it and everything it started, and its output counted in lines
// as it comes (or sent to a file, as a user's `> file` would).
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

const TIME_MARK = 'SLIPWAY-BENCH-TIME';

/**
 * Runs `command args` under /usr/bin/time. Options: env (added to this process's), timeoutMs, stdoutFile
 * (stdout goes there; else it is read and its lines counted), stderrLines (count stderr's lines too: the
 * docker CLI prints a BuildKit build's progress there). Resolves with { seconds, peakRssMiB, lines,
 * failed } where failed is null or why the run does not count.
 */
export function measured(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const out = options.stdoutFile ? openSync(options.stdoutFile, 'w') : 'pipe';
    const started = performance.now();
    const child = spawn('/usr/bin/time', ['-f', `${TIME_MARK} %M`, command, ...args], {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', out, 'pipe'],
      detached: true,
    });
    if (typeof out === 'number') closeSync(out);
    let lines = 0;
    let stderr = '';
    const count = (chunk) => {
      for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines += 1;
    };
    child.stdout?.on('data', count);
    child.stderr.on('data', (chunk) => {
      stderr = (stderr + chunk).slice(-20_000);
      if (options.stderrLines) count(chunk);
    });
    let timedOut = false;
    const timer = setTimeout(
      () => {
        timedOut = true;
        // GNU time does not pass a signal on: the whole group goes.
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {}
      },
      options.timeoutMs ?? 30 * 60_000,
    );
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      const rss = new RegExp(`${TIME_MARK} (\\d+)`).exec(stderr);
      const peakRssMiB = rss ? Number(rss[1]) / 1024 : null;
      const failed = timedOut
        ? `timed out after ${Math.round(seconds)} s`
        : code !== 0
          ? `exited ${code}: ${stderr.replace(new RegExp(`${TIME_MARK}.*`), '').slice(-500)}`
          : null;
      resolve({ seconds, peakRssMiB, lines, failed });
    });
  });
}
