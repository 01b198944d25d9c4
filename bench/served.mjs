// Browser mode for the benches: `slipway serve` started as a user starts it (bin/slipway.js run as a
// program, so its #! line's memory settings apply), its API, and its memory from /proc.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const bin = new URL('../bin/slipway.js', import.meta.url).pathname;

/** Starts `slipway serve --no-open <args>`; resolves once it prints its address. */
export async function startServed(args) {
  const server = spawn(bin, ['serve', '--no-open', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const address = await new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk) => {
      output += chunk;
      const match = /(http:\/\/127\.0\.0\.1:\d+)\/\?token=([0-9a-f]+)/.exec(output);
      if (match) resolve({ origin: match[1], token: match[2] });
    };
    server.stdout.on('data', onData);
    server.stderr.on('data', onData);
    server.once('error', reject);
    server.once('exit', () => reject(new Error(`slipway serve exited: ${output}`)));
  });
  return {
    pid: server.pid,
    /** Calls one request of the contract; rejects with its error. */
    call: async (method, input) => {
      const response = await fetch(`${address.origin}/api/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-slipway-token': address.token },
        body: JSON.stringify(input),
      });
      const answer = await response.json();
      if (!response.ok) throw new Error(`${method}: ${JSON.stringify(answer)}`);
      return answer.result;
    },
    /** Its resident memory now and at its peak (VmHWM), in MiB. */
    resident: () => {
      const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
      const kib = (field) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
      return { rssMiB: kib('VmRSS') / 1024, peakRssMiB: kib('VmHWM') / 1024 };
    },
    stop: async () => {
      if (server.exitCode !== null) return;
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    },
  };
}

/** Starts a build of an opened project and polls until it has ended; resolves with its record. */
export async function buildServed(served, projectId) {
  const { buildId } = await served.call('build.start', { projectId });
  for (;;) {
    const build = await served.call('build.get', { buildId });
    if (build.status !== 'running') return build;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
