#!/usr/bin/env -S MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=32768 node --max-semi-space-size=2
// The built CLI lives in out/cli; `npm run build` makes it.
//
// The #! line sets what keeps a long-running Slipway (browser mode) at the memory it started with; only
// a process's start can set them (scripts/launch-settings.js reads them from here for other launchers):
// - MALLOC_MMAP_THRESHOLD_: glibc raises its threshold for mmap()ed blocks to the size of any such block
//   freed (up to 32 MiB), after which buffers of every size below it come from, and fragment, the main
//   heap, whose free pages it never gives back (glibc trims only its top). A fixed 32 KiB puts every
//   socket read (Node allocates 64 KiB for each) in a mapping of its own, unmapped when it is freed:
//   with them in the main heap, browser mode's soak grew it from 8 to 37-42 MiB, nearly all of it free
//   (17-25 MiB at 64 KiB, 15-16 at 32 KiB). It costs page faults: about 0.1-0.3 s of CPU time on a
//   2,000,000-line log.
// - MALLOC_ARENA_MAX: each thread that allocates (workers, libuv's pool, V8's helpers) gets an arena of
//   its own, each fragmenting apart; two are enough for a process that does its work on one thread.
// - --max-semi-space-size=2: V8's young generation stays at most 2 x 2 MiB instead of growing to
//   2 x 16 MiB and staying there (src/core/process-memory.ts keeps it small at run time too, but only
//   once the CLI is loaded, and a worker's start undoes it for a moment). 2 x 1 MiB promotes the log
//   path's lines to the old generation: more CPU and a higher peak on a 2,000,000-line log.
// Run as `node bin/slipway.js`, none of these apply.
import { existsSync } from 'node:fs';

const built = new URL('../out/cli/index.js', import.meta.url);
if (!existsSync(built)) {
  process.stderr.write('error E_INTERNAL: Slipway is not built yet. Run "npm run build" first.\n');
  process.exit(2);
}
const { main } = await import(built.href);
process.exitCode = await main(process.argv.slice(2));
