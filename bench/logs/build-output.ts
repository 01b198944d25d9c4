/**
 * Realistic Docker-Engine-API build output, made up on the fly: steps, compiler and package-manager
 * lines, timestamps, ANSI colour, multi-byte text, '\r' progress redraws and the odd long line, as
 * JSON-lines `stream` messages. A small pool of pieces is generated once and replayed, so the input
 * never sits in memory or on disk.
 */

/** A word that appears on about one line in 2,000: what the search benchmark looks for. */
export const RARE_WORD = 'segfault-canary';

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 0x1_0000_0000;
  };
}

const dirs = [
  'drivers/net/ethernet/intel',
  'src/compiler/passes',
  'lib/crypto/aes',
  'node_modules/.pnpm/esbuild',
  'pkg/server/http',
];
const packages = [
  'request@2.88.2',
  'uuid@3.4.0',
  'har-validator@5.1.5',
  'inflight@1.0.6',
  'glob@7.2.3',
  'rimraf@3.0.2',
];

function logLine(next: () => number, lineNo: number): string {
  const pick = <T>(items: T[]) => items[Math.floor(next() * items.length)] as T;
  const n = Math.floor(next() * 100_000);
  const roll = next();
  if (next() < 0.0005)
    return `2026-11-26T11:45:${String(n % 60).padStart(2, '0')}Z [warn] worker ${n}: ${RARE_WORD} caught in unit ${lineNo}`;
  if (roll < 0.3)
    return `  CC      ${pick(dirs)}/module_${n}.o  (${(next() * 9).toFixed(2)} s, -O2 -g -fPIC -Wall -Wextra -Werror -DNDEBUG)`;
  if (roll < 0.5)
    return `npm WARN deprecated ${pick(packages)}: this version is no longer supported and will be removed, please upgrade (see https://npm.example/advisories/${n})`;
  if (roll < 0.7)
    return `2026-11-26T11:45:${String(n % 60).padStart(2, '0')}.${String(n % 1000).padStart(3, '0')}Z [info] [worker ${n % 8}] compiled module ${n} in ${n % 97} ms (cache hit ratio 0.${n % 100})`;
  if (roll < 0.8)
    return `\u001b[32m\u2713\u001b[0m suite ${n} passed \u2014 ${n % 50} tests, ${n % 300} ms \u00e9t\u00e9 \u{1F680}`;
  if (roll < 0.9)
    return `#${n % 40} [builder ${n % 7}/7] RUN cargo build --release --locked  # crate ${pick(packages)} compiling`;
  if (roll < 0.995) return `Downloading layer ${n.toString(16)} ${'='.repeat(n % 30)}> ${n % 100}% of ${n % 900} MiB`;
  return `{"minified":"${'x9'.repeat(900 + (n % 200))}"}`;
}

/** A piece of about `bytes` of JSON-lines output, and the log lines it holds. */
function piece(seed: number, bytes: number, firstLine: number): { data: Buffer; lines: number } {
  const next = random(seed);
  const messages: string[] = [];
  let size = 0;
  let lines = 0;
  while (size < bytes) {
    let text: string;
    const kind = next();
    if (kind < 0.0002) {
      text = `STEP ${1 + Math.floor(next() * 20)}/20: RUN make -j4 all\n`;
      lines += 1;
    } else if (kind < 0.01) {
      // A progress bar redrawn with '\r': the terminal (and the log) keeps its last state.
      text = `${[10, 40, 70].map((p) => `Extracting ${p}%\r`).join('')}Extracting 100%\n`;
      lines += 1;
    } else if (kind < 0.3) {
      // Engines often send several lines in one message.
      text = `${logLine(next, firstLine + lines)}\n${logLine(next, firstLine + lines + 1)}\n`;
      lines += 2;
    } else {
      text = `${logLine(next, firstLine + lines)}\n`;
      lines += 1;
    }
    const message = `${JSON.stringify({ stream: text })}\n`;
    messages.push(message);
    size += Buffer.byteLength(message);
  }
  return { data: Buffer.from(messages.join('')), lines };
}

/** Pieces of output to replay: `count` pieces of about `bytes` each. */
export function outputPool(count: number, bytes: number): { data: Buffer; lines: number }[] {
  return Array.from({ length: count }, (_, i) => piece(i + 1, bytes, i * 10_000));
}
