import { readdir, readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';

// Electron cannot run here (no binary); safeStorage is mocked with a reversible stand-in cipher.
const safeStorage = vi.hoisted(() => ({
  available: true,
  backend: 'gnome_libsecret' as string,
  isEncryptionAvailable: vi.fn((): boolean => safeStorage.available),
  getSelectedStorageBackend: vi.fn(() => safeStorage.backend as 'gnome_libsecret'),
  encryptString: vi.fn((text: string) => Buffer.from(`enc:${Buffer.from(text).toString('base64')}`)),
  decryptString: vi.fn((bytes: Buffer) => Buffer.from(bytes.toString().slice(4), 'base64').toString()),
}));
vi.mock('electron', () => ({ safeStorage, default: { safeStorage } }));

import { Engine } from '../../src/core/engine';
import { fileSecretStore, secretsDir } from '../../src/core/settings/secret-store';
import { safeStorageCipher } from '../../src/main/safe-storage-cipher';
import { tempDir } from '../support/fixtures';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  safeStorage.available = true;
  safeStorage.backend = 'gnome_libsecret';
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function electronEngine() {
  const data = await tempDir('slipway-safe-storage-');
  cleanups.push(data.cleanup);
  const { safeStorage: mocked } = await import('electron');
  const engine = new Engine({
    dataDir: data.path,
    mode: 'electron',
    version: 'test',
    secrets: fileSecretStore(data.path, safeStorageCipher(mocked, 'linux')),
  });
  return { engine, data: data.path };
}

describe('the window’s tokens are kept with Electron’s safeStorage', () => {
  it('writes only the ciphertext to disk, and reads the token back through safeStorage', async () => {
    const { engine, data } = await electronEngine();
    const token = 'plain-token-81b2';
    expect(await engine.call('targets.setToken', { target: 'fleet', token })).toEqual({ stored: true });
    expect(safeStorage.encryptString).toHaveBeenCalledWith(token);
    const [name] = await readdir(secretsDir(data));
    expect(name).toMatch(/\.safe$/);
    const onDisk = await readFile(`${secretsDir(data)}/${name}`, 'utf8');
    expect(onDisk.startsWith('enc:')).toBe(true);
    expect(onDisk).not.toContain(token);
    expect(await fileSecretStore(data, safeStorageCipher(safeStorage, 'linux')).get('fleet')).toBe(token);
  });

  it('refuses with a clear error when the system offers no encryption, and writes nothing', async () => {
    const { engine, data } = await electronEngine();
    safeStorage.available = false;
    await expect(engine.call('targets.setToken', { target: 'fleet', token: 'abc' })).rejects.toMatchObject({
      code: 'E_TOKEN_STORE_UNAVAILABLE',
      message: expect.stringContaining('safeStorage'),
    });
    expect(await readdir(secretsDir(data)).catch(() => [])).toEqual([]);
    expect(await engine.call('targets.setToken', { target: 'fleet' })).toEqual({ stored: false });
  });

  it('refuses on Linux without a keyring, where safeStorage would use a fixed public key', async () => {
    const { engine } = await electronEngine();
    safeStorage.backend = 'basic_text';
    await expect(engine.call('targets.setToken', { target: 'fleet', token: 'abc' })).rejects.toMatchObject({
      code: 'E_TOKEN_STORE_UNAVAILABLE',
      message: expect.stringContaining('keyring'),
    });
  });
});
