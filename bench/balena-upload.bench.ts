import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { it } from 'vitest';
import { runCli } from '../test/support/cli';
import { startFakeBalenaBuilder } from '../test/support/fake-balena-builder';
import { tempDir } from '../test/support/fixtures';

/**
 * Pushes a generated project (half random bytes, half repetitive text, so gzip has real work) to the
 * FAKE balena builder through the built CLI, and compares with the floor of the same work done by the
 * system's tools: `tar -c | gzip -6`, no network. Prints time, peak RSS and bytes; run with
 * `npm run bench:balena` (it builds first).
 */
const PROJECT_MIB = Number(process.env.BENCH_PROJECT_MIB ?? 512);

async function writeGenerated(path: string, bytes: number, random: boolean): Promise<void> {
  const line = Buffer.from('2026-11-26T11:55:40Z INFO service=web request handled in 12 ms status=200\n');
  const chunkBytes = 1 << 20;
  async function* chunks() {
    for (let written = 0; written < bytes; written += chunkBytes) {
      yield random
        ? randomBytes(chunkBytes)
        : Buffer.concat(Array(Math.ceil(chunkBytes / line.length)).fill(line)).subarray(0, chunkBytes);
    }
  }
  await pipeline(chunks(), createWriteStream(path));
}

function timeShell(command: string): Promise<{ ms: number; output: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', () => resolve({ ms: performance.now() - started, output: output.trim() }));
  });
}

it(`pushes a ${PROJECT_MIB} MiB project`, async () => {
  const project = await tempDir('slipway-bench-balena-');
  const data = await tempDir('slipway-bench-data-');
  try {
    await writeFile(join(project.path, 'Dockerfile'), 'FROM scratch\nCOPY . /\n');
    await mkdir(join(project.path, 'assets'));
    const half = (PROJECT_MIB / 2) * 2 ** 20;
    await writeGenerated(join(project.path, 'assets', 'random.bin'), half, true);
    await writeGenerated(join(project.path, 'server.log'), half, false);
    const fake = await startFakeBalenaBuilder({ steps: [{ message: { message: '[main]     done' } }] });
    const started = performance.now();
    const run = await runCli(
      ['build', project.path, '--balena', 'bench/fleet', '--builder', `local=${fake.url}`, '--data-dir', data.path],
      {
        env: { BALENA_TOKEN: 'bench-token' },
      },
    );
    const slipwayMs = performance.now() - started;
    await fake.close();
    if (run.code !== 0) throw new Error(`the push failed: ${run.stderr}`);
    const request = fake.builds[0];
    const baseline = await timeShell(`tar -cf - -C '${project.path}' . | gzip -6 | wc -c`);
    const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
    console.log(
      [
        `balena push of a ${PROJECT_MIB} MiB project (half random, half text) to the FAKE builder:`,
        `  Slipway CLI:        ${(slipwayMs / 1000).toFixed(2)} s, peak RSS ${mib(run.peakRssBytes)} MiB, tar ${mib(request?.tarBytes ?? 0)} MiB -> gzip ${mib(request?.compressedBytes ?? 0)} MiB`,
        `  tar | gzip -6:      ${(baseline.ms / 1000).toFixed(2)} s, gzip ${mib(Number(baseline.output))} MiB (no network, no parsing)`,
        `  ratio Slipway/tar|gzip: ${(slipwayMs / baseline.ms).toFixed(2)}`,
      ].join('\n'),
    );
  } finally {
    await Promise.all([project.cleanup(), data.cleanup()]);
  }
});
