import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/core/engine';
import { fileSecretStore, secretsDir } from '../../src/core/settings/secret-store';
import type { SlipwayEvent } from '../../src/shared/contract';
import { tempDir } from '../support/fixtures';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});
async function dataDir(): Promise<string> {
  const dir = await tempDir('slipway-secrets-');
  cleanups.push(dir.cleanup);
  return dir.path;
}

describe('the file token store (browser mode and the CLI)', () => {
  it('keeps each target’s token in its own file only its owner can read, and gives it back', async () => {
    const data = await dataDir();
    const store = fileSecretStore(data);
    expect(await store.get('fleet')).toBeNull();
    await store.set('fleet', '  tok-one\n');
    await store.set('../other fleet', 'tok-two');
    expect(await store.get('fleet')).toBe('tok-one');
    expect(await store.get('../other fleet')).toBe('tok-two');
    expect(await store.has('fleet')).toBe(true);

    const files = await readdir(secretsDir(data));
    expect(files).toHaveLength(2);
    expect(files.every((name) => /^[0-9a-f]+\.token$/.test(name))).toBe(true);
    for (const name of files) expect((await stat(join(secretsDir(data), name))).mode & 0o777).toBe(0o600);
    expect((await stat(secretsDir(data))).mode & 0o777).toBe(0o700);
  });

  it('replaces a token, and forgets it on delete', async () => {
    const store = fileSecretStore(await dataDir());
    await store.set('fleet', 'old');
    await store.set('fleet', 'new');
    expect(await store.get('fleet')).toBe('new');
    expect(await store.delete('fleet')).toBe(true);
    expect(await store.get('fleet')).toBeNull();
    expect(await store.has('fleet')).toBe(false);
    expect(await store.delete('fleet')).toBe(false);
  });

  it('refuses a token file that others can read, naming the file and not the token', async () => {
    const data = await dataDir();
    const store = fileSecretStore(data);
    await store.set('fleet', 'secret-token-value');
    const [name] = await readdir(secretsDir(data));
    const path = join(secretsDir(data), name as string);
    await chmod(path, 0o644);
    const error = await store.get('fleet').catch((caught: unknown) => caught as Error & { code: string });
    expect(error).toMatchObject({ code: 'E_TOKEN_INSECURE' });
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).not.toContain('secret-token-value');
  });

  it('refuses an empty token', async () => {
    const store = fileSecretStore(await dataDir());
    await expect(store.set('fleet', '   ')).rejects.toMatchObject({ code: 'E_BAD_INPUT' });
  });
});

describe('targets.setToken', () => {
  it('stores, reports and forgets a token without ever returning it', async () => {
    const data = await dataDir();
    const engine = new Engine({ dataDir: data, mode: 'browser', version: 'test' });
    const events: SlipwayEvent[] = [];
    engine.on('event', (event) => events.push(event));
    const token = 'never-shown-4f1c2a';
    expect(await engine.call('targets.setToken', { target: 'fleet' })).toEqual({ stored: false });
    expect(await engine.call('targets.setToken', { target: 'fleet', token })).toEqual({ stored: true });
    expect(await engine.call('targets.setToken', { target: 'fleet' })).toEqual({ stored: true });
    const answers = JSON.stringify([await engine.call('settings.get', {}), await engine.call('app.info', {}), events]);
    expect(answers).not.toContain(token);
    expect(await readFile(join(data, 'settings.json'), 'utf8').catch(() => '')).not.toContain(token);
    expect(await engine.call('targets.setToken', { target: 'fleet', token: null })).toEqual({ stored: false });
    await engine.close();
  });

  it('says where to store a token when a balena target has none', async () => {
    const data = await dataDir();
    const project = await tempDir('slipway-secrets-project-');
    cleanups.push(project.cleanup);
    await writeFile(join(project.path, 'Dockerfile'), 'FROM scratch\n');
    const engine = new Engine({ dataDir: data, mode: 'browser', version: 'test' });
    await engine.call('settings.update', {
      targets: [
        { name: 'fleet', kind: 'balena', endpoints: [{ region: 'eu', url: 'https://builder.example' }], fleet: 'o/f' },
      ],
      defaultTarget: 'fleet',
    });
    const opened = await engine.call('project.open', { path: project.path });
    const saved = { token: process.env.BALENA_TOKEN, home: process.env.HOME };
    delete process.env.BALENA_TOKEN;
    process.env.HOME = data; // no ~/.balena/token there
    try {
      await expect(engine.call('build.start', { projectId: opened.id })).rejects.toMatchObject({
        code: 'E_TOKEN_MISSING',
        message: expect.stringContaining('No API token is stored for the target fleet'),
        hint: expect.stringContaining('Settings'),
      });
    } finally {
      if (saved.token !== undefined) process.env.BALENA_TOKEN = saved.token;
      process.env.HOME = saved.home;
      await engine.close();
    }
  });

  it('rejects an empty token as bad input', async () => {
    const engine = new Engine({ dataDir: await dataDir(), mode: 'browser', version: 'test' });
    await expect(engine.call('targets.setToken', { target: 'fleet', token: '' })).rejects.toMatchObject({
      code: 'E_BAD_INPUT',
    });
  });
});
