import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { balenaApiOrigin, balenaBuildPath, checkTokenUrl, parseFleet } from '../../src/core/builders/balena/api';
import { openBalenaProject } from '../../src/core/builders/balena/project';
import { readBalenaToken } from '../../src/core/builders/balena-token';
import { balenaIgnoreRuleFromText } from '../../src/core/pack/balena-project';
import { SlipwayError } from '../../src/shared/errors';
import { tempDir } from '../support/fixtures';

describe('balena’s ignore rules over the whole project', () => {
  const rule = balenaIgnoreRuleFromText(
    '**/*.log\nnode_modules\n*/node_modules\n**/Dockerfile*\n.balena\ndocker-compose.yml\n',
  );

  it('applies the root .dockerignore with Docker’s semantics', () => {
    expect(rule('debug.log')).toBe(true);
    expect(rule('web/deep/debug.log')).toBe(true);
    expect(rule('node_modules')).toBe(true);
    expect(rule('web/node_modules')).toBe(true);
    expect(rule('web/src/app.js')).toBe(false);
  });

  it('answers the same after thousands of paths (it keeps nothing per path asked)', () => {
    const fresh = balenaIgnoreRuleFromText('**/*.log\n');
    for (let i = 0; i < 10_000; i++) {
      expect(fresh(`src/file-${i}.log`)).toBe(true);
      expect(fresh(`src/file-${i}.js`)).toBe(false);
    }
  });

  it('always leaves out .git folders, at any depth', () => {
    const none = balenaIgnoreRuleFromText('');
    expect(none('.git')).toBe(true);
    expect(none('.git/HEAD')).toBe(true);
    expect(none('services/web/.git')).toBe(true);
    expect(none('.gitignore')).toBe(false);
    expect(none('web/.github/workflow.yml')).toBe(false);
  });

  it('always sends .balena/, every Dockerfile and the compose file, whatever .dockerignore says', () => {
    expect(rule('.balena')).toBe(false);
    expect(rule('.balena/balena.yml')).toBe(false);
    expect(rule('.resin/resin.yml')).toBe(false);
    expect(rule('Dockerfile')).toBe(false);
    expect(rule('web/Dockerfile')).toBe(false);
    expect(rule('web/Dockerfile.template')).toBe(false);
    expect(rule('web/Dockerfile.aarch64')).toBe(false);
    expect(rule('docker-compose.yml')).toBe(false);
    expect(rule('.dockerignore')).toBe(false);
  });
});

describe('the builder request', () => {
  it('names every option in the query as the builder reads it', () => {
    expect(balenaBuildPath({ fleet: 'my-org/my_fleet' })).toBe(
      '/v3/build?slug=my-org%2Fmy_fleet&dockerfilePath=&emulated=false&nocache=false&headless=false&isdraft=false',
    );
    expect(
      balenaBuildPath({
        fleet: 'o/f',
        dockerfilePath: 'Dockerfile.arm',
        emulated: true,
        nocache: true,
        headless: true,
        draft: true,
      }),
    ).toBe('/v3/build?slug=o%2Ff&dockerfilePath=Dockerfile.arm&emulated=true&nocache=true&headless=true&isdraft=true');
  });

  it('sends the token only over https, or plain http to this machine', () => {
    expect(() => checkTokenUrl('https://builder.balena-cloud.com')).not.toThrow();
    expect(() => checkTokenUrl('http://127.0.0.1:4000')).not.toThrow();
    expect(() => checkTokenUrl('http://localhost:4000')).not.toThrow();
    expect(() => checkTokenUrl('http://builder.example.com')).toThrow(
      /Refusing to send the balena token to http:\/\/builder\.example\.com/,
    );
    expect(() => checkTokenUrl('tcp://127.0.0.1:2375')).toThrow(SlipwayError);
    expect(() => checkTokenUrl('not a url')).toThrow(/not a url/);
  });

  it('finds the API beside the builder', () => {
    expect(balenaApiOrigin('https://builder.balena-cloud.com')).toBe('https://api.balena-cloud.com');
    expect(balenaApiOrigin('https://builder.eu.example.org:8443/x')).toBe('https://api.eu.example.org:8443');
    expect(balenaApiOrigin('http://127.0.0.1:4000')).toBe('http://127.0.0.1:4000');
  });

  it('refuses a fleet that is not ORG/FLEET, naming it', () => {
    expect(parseFleet('org/fleet')).toBe('org/fleet');
    for (const bad of ['fleet', 'a/b/c', '', 'org/fl eet']) {
      expect(() => parseFleet(bad)).toThrow(SlipwayError);
    }
    expect(() => parseFleet('fleet')).toThrow(/fleet/);
  });
});

describe('the balena token', () => {
  let dir: Awaited<ReturnType<typeof tempDir>> | null = null;
  afterEach(async () => {
    await dir?.cleanup();
    dir = null;
  });

  async function tokenFile(mode: number, text = 'file-token\n') {
    dir = await tempDir('slipway-token-');
    const path = join(dir.path, 'token');
    await writeFile(path, text);
    await chmod(path, mode);
    return path;
  }

  it('comes from BALENA_TOKEN first', async () => {
    expect(await readBalenaToken({ env: { BALENA_TOKEN: ' env-token \n', HOME: '/nonexistent' } })).toBe('env-token');
  });

  it('comes from a 0600 token file, trimmed', async () => {
    const path = await tokenFile(0o600);
    expect(await readBalenaToken({ env: {}, tokenFile: path })).toBe('file-token');
    const owner = await tokenFile(0o400);
    expect(await readBalenaToken({ env: {}, tokenFile: owner })).toBe('file-token');
  });

  it('is the balena CLI’s ~/.balena/token when nothing else is given', async () => {
    dir = await tempDir('slipway-home-');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dir.path, '.balena'));
    await writeFile(join(dir.path, '.balena', 'token'), 'cli-token', { mode: 0o600 });
    expect(await readBalenaToken({ env: { HOME: dir.path } })).toBe('cli-token');
  });

  it('refuses a token file others can read, naming it, without printing the token', async () => {
    const path = await tokenFile(0o644, 'secret-in-file');
    const error = await readBalenaToken({ env: {}, tokenFile: path }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SlipwayError);
    expect((error as SlipwayError).code).toBe('E_TOKEN_INSECURE');
    expect((error as SlipwayError).message).toContain(path);
    expect((error as SlipwayError).message).toContain('0644');
    expect((error as SlipwayError).hint).toContain(`chmod 600 ${path}`);
    expect(JSON.stringify((error as SlipwayError).toInfo())).not.toContain('secret-in-file');
    const groupWritable = await tokenFile(0o620);
    await expect(readBalenaToken({ env: {}, tokenFile: groupWritable })).rejects.toMatchObject({
      code: 'E_TOKEN_INSECURE',
    });
  });

  it('says where it looked when there is none', async () => {
    await expect(readBalenaToken({ env: { HOME: '/nonexistent' } })).rejects.toMatchObject({
      code: 'E_TOKEN_MISSING',
      message: expect.stringContaining('/nonexistent/.balena/token'),
    });
    const empty = await tokenFile(0o600, '\n');
    await expect(readBalenaToken({ env: {}, tokenFile: empty })).rejects.toMatchObject({ code: 'E_TOKEN_MISSING' });
  });
});

describe('opening a balena project', () => {
  it('takes a folder whose only Dockerfile is a balena template as the service "main"', async () => {
    const dir = await tempDir('slipway-template-');
    try {
      await writeFile(join(dir.path, 'Dockerfile.template'), 'FROM balenalib/%%BALENA_MACHINE_NAME%%-alpine\n');
      const project = await openBalenaProject(dir.path);
      expect(project.tasks).toEqual([
        { id: 'main', service: 'main', contextPath: dir.path, dockerfile: 'Dockerfile.template' },
      ]);
    } finally {
      await dir.cleanup();
    }
  });

  it('still refuses a folder with no Dockerfile at all, naming it', async () => {
    const dir = await tempDir('slipway-empty-');
    try {
      await expect(openBalenaProject(dir.path)).rejects.toMatchObject({
        code: 'E_NO_DOCKERFILE',
        message: expect.stringContaining(dir.path),
      });
    } finally {
      await dir.cleanup();
    }
  });
});
