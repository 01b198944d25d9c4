// The contract between a bench work and `npm run bench` (bench/run-all.mjs): a work run with
// `--json <file>` writes {work, rows: [{client, seconds, peakRssMiB, ...}]} there.
import { writeFile } from 'node:fs/promises';

/** The file named by --json, or null. */
export function jsonFileArg(argv = process.argv.slice(2)) {
  const at = argv.indexOf('--json');
  if (at === -1) return null;
  const file = argv[at + 1];
  if (!file) throw new Error('--json needs a file');
  return file;
}

/** Writes a work's figures where --json asked (no-op without it). */
export async function writeWork(file, work, rows) {
  if (file) await writeFile(file, `${JSON.stringify({ work, rows }, null, 2)}\n`);
}
