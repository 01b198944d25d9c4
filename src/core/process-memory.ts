import { setFlagsFromString } from 'node:v8';

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
 * Call once, early, before the first request (V8 flags do not apply to code already compiled).
 */
export function limitProcessMemory(): void {
  setFlagsFromString('--liftoff-only');
  setFlagsFromString('--semi-space-growth-factor=1');
}
