// A private Docker Engine for the benchmarks, started as DESIGN.md shows (the arguments are the test
// harness's, test/support/dockerd-args.mjs) in a fresh folder under /tmp, and stopped, its folder
// removed, once the work is done or has failed.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { dockerdArgs } from '../test/support/dockerd-args.mjs';

function ping(socketPath) {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** Runs `work(dir, socket)` against a private dockerd whose environment adds `env`; resolves with its result. */
export async function withPrivateDockerd(prefix, env, work) {
  const dir = await mkdtemp(join('/tmp', prefix));
  const socket = join(dir, 'docker.sock');
  const dockerd = spawn('dockerd', dockerdArgs(dir, socket), { stdio: 'ignore', env: { ...process.env, ...env } });
  const exited = new Promise((resolve) => dockerd.once('exit', resolve));
  try {
    for (let tries = 0; !(await ping(socket)); tries++) {
      if (tries > 300) throw new Error('dockerd did not start');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return await work(dir, socket);
  } finally {
    dockerd.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  }
}
