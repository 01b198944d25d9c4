import { open } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { SlipwayError } from '../../shared/errors';

/** Where the balena CLI keeps the session token of `balena login`. */
export function defaultBalenaTokenFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.HOME || homedir(), '.balena', 'token');
}

/** A token file longer than this is not a token. */
const MAX_TOKEN_BYTES = 16 * 1024;

/**
 * The balena API token for the command line: BALENA_TOKEN, else a token file that only its owner can
 * read or write (mode 0600 or stricter), as ssh does with keys. The token never appears in a message.
 * (The window keeps its token with Electron's safeStorage, in the main process.)
 */
export async function readBalenaToken(
  options: { env?: NodeJS.ProcessEnv; tokenFile?: string | null } = {},
): Promise<string> {
  const env = options.env ?? process.env;
  const fromEnv = env.BALENA_TOKEN?.trim();
  if (fromEnv && !options.tokenFile) return fromEnv;
  const path = options.tokenFile ?? defaultBalenaTokenFile(env);
  let file: Awaited<ReturnType<typeof open>>;
  try {
    file = await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SlipwayError(
      'E_TOKEN_MISSING',
      `No balena API token: BALENA_TOKEN is not set and ${path} cannot be read (${code})`,
      {
        hint: 'Set BALENA_TOKEN, or put the token in a file with mode 0600 and pass it with --token-file.',
        cause: error,
      },
    );
  }
  try {
    // Checked on the open file, so the file read is the file checked.
    const stats = await file.stat();
    if (!stats.isFile()) throw new SlipwayError('E_TOKEN_INSECURE', `The token file ${path} is not a regular file`);
    if ((stats.mode & 0o077) !== 0) {
      const mode = (stats.mode & 0o777).toString(8).padStart(4, '0');
      throw new SlipwayError(
        'E_TOKEN_INSECURE',
        `The token file ${path} has mode ${mode}: others can read or change it`,
        {
          hint: `Run "chmod 600 ${path}"; Slipway reads a token file only its owner can access.`,
        },
      );
    }
    if (stats.size > MAX_TOKEN_BYTES) {
      throw new SlipwayError('E_TOKEN_MISSING', `The token file ${path} is ${stats.size} bytes: not a balena token`);
    }
    const token = (await file.readFile('utf8')).trim();
    if (!token) throw new SlipwayError('E_TOKEN_MISSING', `The token file ${path} is empty`);
    return token;
  } finally {
    await file.close();
  }
}
