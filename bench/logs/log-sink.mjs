// The engine-like sink of bench/pack (/_ping, /version, /build) whose /build discards the
// context and answers a classic build's log of `lines` lines as JSON-lines `stream` messages, written
// with backpressure from a pool of varied lines (compiler and package-manager output, ANSI colour,
// multi-byte text, the odd long line), so the log never sits in memory whole.
import { startSink } from '../pack/sink.mjs';

function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 0x1_0000_0000;
  };
}

function poolLine(next) {
  const n = Math.floor(next() * 100_000);
  const roll = next();
  if (roll < 0.35)
    return `  CC      src/compiler/passes/module_${n}.o  (${(next() * 9).toFixed(2)} s, -O2 -g -fPIC -Wall)`;
  if (roll < 0.55) return `npm WARN deprecated request@2.88.2: this version is no longer supported (see advisory ${n})`;
  if (roll < 0.8)
    return `2026-11-26T11:45:${String(n % 60).padStart(2, '0')}Z [info] [worker ${n % 8}] compiled module ${n}`;
  if (roll < 0.95) return `\u001b[32m\u2713\u001b[0m suite ${n} passed \u2014 ${n % 50} tests \u00e9t\u00e9 \u{1F680}`;
  if (roll < 0.999) return `Downloading layer ${n.toString(16)} ${'='.repeat(n % 30)}> ${n % 100}%`;
  return `{"minified":"${'x9'.repeat(900 + (n % 200))}"}`;
}

/** The pool: `count` lines as the engine's messages, one Buffer. */
function pool(count) {
  const next = random(18);
  let text = '';
  for (let i = 0; i < count; i++) text += `${JSON.stringify({ stream: `${poolLine(next)}\n` })}\r\n`;
  return Buffer.from(text);
}

const POOL_LINES = 4096;

/** Starts the sink; `lines` is the length of every build's log. */
export async function startLogSink(lines) {
  const body = pool(POOL_LINES);
  const head = Buffer.from(
    `${JSON.stringify({ stream: 'Step 1/2 : FROM scratch\n' })}\r\n${JSON.stringify({ stream: 'Step 2/2 : RUN make\n' })}\r\n`,
  );
  const tail = Buffer.from(
    `${JSON.stringify({ aux: { ID: 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef' } })}\r\n`,
  );
  return startSink({
    answerBuild: (request, response, headers) => {
      request.resume();
      request.on('end', async () => {
        response.writeHead(200, { ...headers, 'content-type': 'application/json' });
        response.write(head);
        // The two Step lines count; whole pools, then the part of one that is left.
        let left = lines - 2;
        const lineEnds = [];
        for (let at = body.indexOf(10); at !== -1; at = body.indexOf(10, at + 1)) lineEnds.push(at + 1);
        while (left > 0 && !response.destroyed) {
          const take = Math.min(left, POOL_LINES);
          const ok = response.write(take === POOL_LINES ? body : body.subarray(0, lineEnds[take - 1]));
          left -= take;
          if (!ok)
            await new Promise((resolve) => {
              const done = () => {
                response.off('drain', done);
                response.off('close', done);
                resolve();
              };
              response.on('drain', done);
              response.on('close', done);
            });
        }
        response.end(tail);
      });
    },
  });
}
