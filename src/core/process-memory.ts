import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Worker } from 'node:worker_threads';

/** V8 grows each semi-space by this factor at most; 1 keeps the young generation at its starting size. */
const YOUNG_GENERATION_GROWTH = '--semi-space-growth-factor=1';

/** Sets the young generation's growth again once a worker's isolate exists (see limitProcessMemory). */
function keepYoungGenerationSmall(worker: Worker): void {
  worker.once('online', () => setFlagsFromString(YOUNG_GENERATION_GROWTH));
}

let limited = false;

/**
 * Two V8 settings that keep a Slipway process's resident memory flat while it packs (measured with the
 * CLI on bench/pack's contexts; peak RSS before -> after):
 *
 * - undici parses HTTP with llhttp compiled to WebAssembly, and V8 tiers that module up to optimised
 *   code in the background on the first request: about 35 MB (a lone undici request peaks at 99 MB
 *   RSS, 64 MB with Liftoff only). Liftoff's baseline code is fast enough for build logs and uploads.
 * - Packing makes short-lived objects and buffers for every file (tar-fs streams, tar-stream headers).
 *   V8 grows the young generation up to 16 MiB semi-spaces, so they pile up and get promoted before a
 *   collection frees them: 100,000 files of 1 KiB peaked at 209 MB. Keeping the young generation at its
 *   starting size collects them while they are still young: 124 MB, and no more CPU time.
 *
 * The growth factor is process-wide, and V8 sets it back to its default (2) whenever it creates an
 * isolate, that is whenever a worker thread starts (a search, a scan): it is set again as each worker
 * comes online. Without that, browser mode's young generation grew to its 2 x 16 MiB at the first search
 * and stayed there (the soak: 16 MiB of its growth over 180 builds).
 *
 * Call once, early, before the first request (V8 flags do not apply to code already compiled).
 */
export function limitProcessMemory(): void {
  setFlagsFromString('--liftoff-only');
  setFlagsFromString(YOUNG_GENERATION_GROWTH);
  if (limited) return;
  limited = true;
  process.on('worker', keepYoungGenerationSmall);
}

let fullCollection: (() => void) | null = null;

/**
 * Collects the process's garbage now, in full. For an engine that has just gone idle (its last build
 * ended): V8 collects only when it allocates, so an idle process keeps what its last build left, the
 * buffers of its logs and uploads among it (tens of MiB in the soak), for as long as it stays idle.
 */
export function collectGarbage(): void {
  if (!fullCollection) {
    // What --expose-gc gives at the start, given at run time: a context made after it has `gc`.
    setFlagsFromString('--expose-gc');
    fullCollection = runInNewContext('gc') as () => void;
  }
  // A full collection frees objects but moves only the pages V8's heuristics pick, and leaves the rest
  // committed however little of them is in use: compacting them all gives the emptied pages back (the
  // soak: 21 MiB of heap after 200 builds, 42 without; V8's own memory reducer gets there 8 s later).
  setFlagsFromString('--compact-on-every-full-gc');
  try {
    fullCollection();
  } finally {
    setFlagsFromString('--no-compact-on-every-full-gc');
  }
}
