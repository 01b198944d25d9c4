// What bin/slipway.js's #! line gives the process it starts (glibc malloc settings, Node's flags), for
// launchers that start it with `node` itself (scripts/start.js, Windows) or start Electron instead.
// The #! line is the one place these settings are written; see bin/slipway.js for why each is there.
import { readFileSync } from 'node:fs';

const BIN = new URL('../bin/slipway.js', import.meta.url);

/** Reads `#!/usr/bin/env -S NAME=value ... node --flag ...`: the environment it sets and Node's flags. */
export function launchSettings(binText = readFileSync(BIN, 'utf8')) {
  const first = binText.split('\n', 1)[0];
  const match = /^#!\/usr\/bin\/env -S (.*)$/.exec(first);
  if (!match) throw new Error(`bin/slipway.js does not start with "#!/usr/bin/env -S": ${first}`);
  const words = match[1].trim().split(/\s+/);
  const node = words.indexOf('node');
  if (node === -1) throw new Error(`bin/slipway.js's #! line runs no node: ${first}`);
  const env = Object.fromEntries(
    words.slice(0, node).map((word) => {
      const at = word.indexOf('=');
      return [word.slice(0, at), word.slice(at + 1)];
    }),
  );
  return { env, nodeFlags: words.slice(node + 1) };
}
