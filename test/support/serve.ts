import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = new URL('../../bin/slipway.js', import.meta.url).pathname;

export interface ServedSlipway {
  /** The server's process, whose descriptors and threads a test may count in /proc. */
  pid: number;
  url: string;
  origin: string;
  token: string;
  stop(): Promise<void>;
}

/**
 * Starts `slipway serve --no-open` from the built CLI and waits for the URL it prints. Without a
 * `--data-dir` it gets a private one, removed on stop: a test never writes into the user's own.
 */
export async function serveSlipway(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ServedSlipway> {
  const ownDataDir = args.includes('--data-dir') ? null : mkdtempSync(join(tmpdir(), 'slipway-served-'));
  const allArgs = ownDataDir ? [...args, '--data-dir', ownDataDir] : args;
  const removeOwnDataDir = () => {
    if (ownDataDir) rmSync(ownDataDir, { recursive: true, force: true });
  };
  // Run as a user runs it, as a program: its #! line sets the process's memory settings.
  const child: ChildProcess = spawn(bin, ['serve', '--no-open', ...allArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`slipway serve printed no URL:\n${output}`)), 15_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', () => reject(new Error(`slipway serve exited:\n${output}`)));
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    removeOwnDataDir();
    throw error;
  });
  const parsed = new URL(url);
  return {
    pid: child.pid as number,
    url,
    origin: parsed.origin,
    token: parsed.searchParams.get('token') as string,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      removeOwnDataDir();
    },
  };
}
