import { chmod, open, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../../shared/errors';
import { dataDirError, ensurePrivateDir } from '../data-dir';

/** Where a shell keeps the API tokens of its targets. A token goes in and is used; it never comes back out to a window. */
export interface SecretStore {
  /** The target's token, or null when none is stored. */
  get(target: string): Promise<string | null>;
  /** Stores (replaces) the target's token. */
  set(target: string, token: string): Promise<void>;
  /** Forgets the target's token; false when there was none. */
  delete(target: string): Promise<boolean>;
  has(target: string): Promise<boolean>;
}

/**
 * How a file store turns a token into bytes on disk. The Electron shell gives one backed by safeStorage
 * (the OS keychain's key); without it the bytes are the token itself, as the balena CLI keeps ~/.balena/token.
 */
export interface SecretCipher {
  /** Names the file's format, so a plain file is never handed to a decrypter (or the other way round). */
  extension: string;
  encrypt(token: string): Buffer;
  decrypt(bytes: Buffer): string;
}

/** The cipher of browser mode and the CLI: none; the 0600 file mode is the protection. */
export const plainCipher: SecretCipher = {
  extension: 'token',
  encrypt: (token) => Buffer.from(token, 'utf8'),
  decrypt: (bytes) => bytes.toString('utf8'),
};

/** A stored secret larger than this is not an API token. */
const MAX_SECRET_BYTES = 64 * 1024;

export function secretsDir(dataDir: string): string {
  return join(dataDir, 'secrets');
}

/** A store with one file per target in <dataDir>/secrets, mode 0600 in a 0700 folder. */
export function fileSecretStore(dataDir: string, cipher: SecretCipher = plainCipher): SecretStore {
  const dir = secretsDir(dataDir);
  // Hex of the name: any target name (64 characters at most) becomes a plain file name, never a path.
  const pathOf = (target: string) => join(dir, `${Buffer.from(target, 'utf8').toString('hex')}.${cipher.extension}`);

  async function read(target: string): Promise<Buffer | null> {
    const path = pathOf(target);
    let file: Awaited<ReturnType<typeof open>>;
    try {
      file = await open(path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new SlipwayError('E_TOKEN_MISSING', `Cannot read the token of ${target} from ${path}`, { cause: error });
    }
    try {
      const stats = await file.stat();
      if (!stats.isFile() || (stats.mode & 0o077) !== 0) {
        const mode = (stats.mode & 0o777).toString(8).padStart(4, '0');
        throw new SlipwayError(
          'E_TOKEN_INSECURE',
          `The token file ${path} has mode ${mode}: others can read or change it`,
          {
            hint: `Run "chmod 600 ${path}", or store the token again from Settings.`,
          },
        );
      }
      if (stats.size > MAX_SECRET_BYTES) {
        throw new SlipwayError('E_TOKEN_MISSING', `The token file ${path} is ${stats.size} bytes: not a token`);
      }
      return await file.readFile();
    } finally {
      await file.close();
    }
  }

  return {
    async get(target) {
      const bytes = await read(target);
      if (!bytes) return null;
      const token = cipher.decrypt(bytes).trim();
      return token || null;
    },
    async set(target, token) {
      const trimmed = token.trim();
      if (!trimmed) throw new SlipwayError('E_BAD_INPUT', `The token for ${target} is empty`);
      const bytes = cipher.encrypt(trimmed);
      const path = pathOf(target);
      const temporary = `${path}.${process.pid}.tmp`;
      try {
        await ensurePrivateDir(dir);
        // Written whole to a 0600 file and renamed into place: no reader ever sees half a token or a wider mode.
        await writeFile(temporary, bytes, { mode: 0o600 });
        await chmod(temporary, 0o600);
        await rename(temporary, path);
      } catch (error) {
        await rm(temporary, { force: true }).catch(() => undefined);
        throw dataDirError(error, path, 'write');
      }
    },
    async delete(target) {
      const existed = (await read(target).catch(() => Buffer.alloc(0))) !== null;
      await rm(pathOf(target), { force: true });
      return existed;
    },
    async has(target) {
      return (await read(target)) !== null;
    },
  };
}
