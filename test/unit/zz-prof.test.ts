import { readFileSync } from 'node:fs';
import { it } from 'vitest';
import { BuildKitParser } from '../../src/core/builders/docker/buildkit-parser';

it('prof', () => {
  const all = readFileSync('/tmp/bkb-answer.jsonl');
  const p = new BuildKitParser();
  const t = performance.now();
  let n = 0;
  for (let at = 0; at < all.length; at += 65536) {
    n += p.push(all.subarray(at, at + 65536)).length;
  }
  n += p.end().length;
  console.log(`${n} records in ${(performance.now() - t).toFixed(0)} ms`);
});
