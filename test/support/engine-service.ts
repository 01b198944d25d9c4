import { type ChildProcess, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { request } from 'node:http';

export interface EngineService {
  socketPath: string;
  url: string;
  stop(): Promise<void>;
}

function pingOnce(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/** A service's process: its stderr's start (for errors), and stop(), which ends it and removes its folder. */
export interface ServiceProcess {
  child: ChildProcess;
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * Spawns a test service (an engine, a registry). stop() ends it (SIGTERM, then SIGKILL after
 * `killAfterMs`) and removes `dir`, where everything it made lives.
 */
export function spawnService(options: {
  command: string;
  args: string[];
  dir: string;
  killAfterMs: number;
  /** Variables added to the service's environment. */
  env?: NodeJS.ProcessEnv;
}): ServiceProcess {
  const child: ChildProcess = spawn(options.command, options.args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 16_384) stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs);
      await exited;
      clearTimeout(timer);
    }
    await rm(options.dir, { recursive: true, force: true, maxRetries: 3 });
  };
  return { child, stderr: () => stderr, stop };
}

/** Starts an engine's service process and waits until it answers /_ping on its socket. */
export async function startEngineService(options: {
  command: string;
  args: string[];
  dir: string;
  socketPath: string;
  startTimeoutMs: number;
  killAfterMs: number;
  /** Variables added to the service's environment. */
  env?: NodeJS.ProcessEnv;
}): Promise<EngineService> {
  const { socketPath } = options;
  const { child, stderr, stop } = spawnService(options);
  const deadline = Date.now() + options.startTimeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (await pingOnce(socketPath)) return { socketPath, url: `unix://${socketPath}`, stop };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error(
    `${options.command} did not answer /_ping on ${socketPath} within ${options.startTimeoutMs / 1000} s:\n${stderr()}`,
  );
}
