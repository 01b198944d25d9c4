import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import packageJson from '../../../package.json';
import { Engine } from '../../core/engine';
import { startBrowserServer } from '../../server/server';
import { onInterrupt } from '../interrupt';
import { dataDirOption, numberOption } from '../options';
import type { Output } from '../output';

export const serveUsage = `slipway serve [--port N] [--no-open] [--builder URL] [--data-dir DIR]

  Starts browser mode: the Slipway window served on 127.0.0.1, with a token in its URL.
  --port N        port to listen on (default: a free one)
  --no-open       do not open the default browser
  --builder URL   builder for builds started from the window (default: the local engine)
  --data-dir DIR  where logs and history live`;

/** The built renderer, beside the built CLI (out/cli -> out/renderer). */
export function rendererDir(): string {
  return fileURLToPath(new URL('../renderer/', import.meta.url));
}

function openBrowser(url: string): void {
  const child = spawn('xdg-open', [url], { stdio: 'ignore', detached: true });
  child.on('error', () => undefined);
  child.unref();
}

/** `slipway serve`: runs until interrupted. */
export async function serveCommand(args: string[], output: Output): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      'no-open': { type: 'boolean', default: false },
      builder: { type: 'string' },
      'data-dir': { type: 'string' },
    },
  });
  const port = numberOption(values.port, 'port', 'port') ?? 0;
  const dataDir = dataDirOption(values);
  const engine = new Engine({
    dataDir,
    mode: 'browser',
    version: packageJson.version,
    builderUrl: values.builder,
  });
  const server = await startBrowserServer(engine, { port, rendererDir: rendererDir() });
  output.out(`Slipway is running at ${server.url}`);
  if (!values['no-open']) openBrowser(server.url);
  // Ctrl-C or SIGTERM stops the server; a second one quits at once.
  await new Promise<void>((resolve) => onInterrupt(resolve));
  await engine.close();
  await server.close();
  return 0;
}

/** The command as the CLI's table loads it. */
export const command = { run: serveCommand, usage: serveUsage };
