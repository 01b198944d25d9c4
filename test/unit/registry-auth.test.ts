import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRegistryAuth, registryConfigOnce } from '../../src/core/builders/registry-auth';
import { registryConfigHeader } from '../../src/core/builders/registry-auth/registry-config-header';
import { registryRefusal } from '../../src/core/builders/registry-auth/unauthorized';
import { SlipwayError } from '../../src/shared/errors';
import { tempDir } from '../support/fixtures';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const basic = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64');

/** A DOCKER_CONFIG folder with this config.json (an object, or raw text) and FAKE helpers (name → script body). */
async function configDir(config: unknown, helpers: Record<string, string> = {}) {
  const dir = await tempDir('slipway-docker-config-');
  cleanups.push(dir.cleanup);
  if (config !== undefined) {
    await writeFile(join(dir.path, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  }
  for (const [name, body] of Object.entries(helpers)) {
    await writeFile(join(dir.path, `docker-credential-${name}`), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  }
  return { DOCKER_CONFIG: dir.path, PATH: `${dir.path}:/usr/bin:/bin`, HOME: dir.path };
}

/** A FAKE store helper holding one login per server (server → [user, secret]). */
function storeHelper(logins: Record<string, [string, string]>): string {
  const cases = Object.entries(logins)
    .map(
      ([server, [user, secret]]) =>
        `    '${server}') printf '{"ServerURL":"${server}","Username":"${user}","Secret":"${secret}"}' ;;`,
    )
    .join('\n');
  const list = Object.entries(logins)
    .map(([server, [user]]) => `"${server}":"${user}"`)
    .join(',');
  return `server=$(cat)
case "$1" in
  list) printf '{${list}}' ;;
  get) case "$server" in
${cases}
    *) echo 'credentials not found in native keychain'; exit 1 ;;
  esac ;;
esac`;
}

async function rejected(promise: Promise<unknown>): Promise<SlipwayError> {
  const error = await promise.then(
    () => null,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(SlipwayError);
  return error as SlipwayError;
}

describe('registry credentials from the docker CLI config', () => {
  it('reads auths as the docker CLI does: base64 auth, username and password, identity tokens', async () => {
    const env = await configDir({
      auths: {
        '127.0.0.1:5000': { auth: basic('team', 'pa:ss') },
        'https://ghcr.io': { username: 'me', password: 'secret' },
        'https://index.docker.io/v1/': { auth: basic('hub', 'x'), identitytoken: 'tok' },
        'quay.io': {},
      },
    });
    const auth = await loadRegistryAuth(env);
    expect(auth.registries()).toEqual(['127.0.0.1:5000', 'ghcr.io', 'index.docker.io']);
    expect(await auth.lookup('127.0.0.1:5000')).toEqual({ username: 'team', secret: 'pa:ss' });
    expect(await auth.lookup('ghcr.io')).toEqual({ username: 'me', secret: 'secret' });
    // Docker Hub under every name BuildKit and engines give it.
    for (const name of ['docker.io', 'registry-1.docker.io', 'index.docker.io']) {
      expect(await auth.lookup(name)).toEqual({ username: 'hub', secret: 'tok', identityToken: true });
    }
    expect(await auth.lookup('quay.io')).toBeNull();
    expect(await auth.lookup('example.com')).toBeNull();
  });

  it('reads $DOCKER_CONFIG/config.json, else ~/.docker/config.json, and takes a missing file as no credentials', async () => {
    const home = await configDir(undefined);
    await writeFile(join(home.HOME, 'unused'), '');
    const none = await loadRegistryAuth({ HOME: home.HOME });
    expect(none.registries()).toEqual([]);
    expect(none.configPath).toBe(join(home.HOME, '.docker', 'config.json'));
    const env = await configDir({ auths: { 'r.example': { auth: basic('a', 'b') } } });
    expect((await loadRegistryAuth(env)).configPath).toBe(join(env.DOCKER_CONFIG, 'config.json'));
  });

  it('refuses a malformed config.json with E_REGISTRY_CONFIG_INVALID naming the file, never quoting a secret', async () => {
    const notJson = await configDir('{"auths": ');
    const error = await rejected(loadRegistryAuth(notJson));
    expect(error.code).toBe('E_REGISTRY_CONFIG_INVALID');
    expect(error.message).toContain(join(notJson.DOCKER_CONFIG, 'config.json'));
    const badAuth = await configDir({ auths: { 'r.example': { auth: 'c2VjcmV0LXdpdGhvdXQtY29sb24=' } } });
    const authError = await rejected(loadRegistryAuth(badAuth));
    expect(authError.code).toBe('E_REGISTRY_CONFIG_INVALID');
    expect(authError.message).toContain('auths["r.example"].auth');
    expect(authError.message).not.toContain('c2VjcmV0');
    const badHelper = await configDir({ credsStore: '../../bin/sh' });
    expect((await rejected(loadRegistryAuth(badHelper))).code).toBe('E_REGISTRY_CONFIG_INVALID');
  });

  it('asks a credsStore helper: list for the registries, get with the server on stdin for the secret', async () => {
    const env = await configDir(
      { auths: { 'r.example': {} }, credsStore: 'fake' },
      { fake: storeHelper({ 'r.example': ['ci', 's3cret'], 'https://index.docker.io/v1/': ['<token>', 'idt'] }) },
    );
    const auth = await loadRegistryAuth(env);
    expect(auth.registries()).toEqual(['index.docker.io', 'r.example']);
    expect(await auth.lookup('r.example')).toEqual({ username: 'ci', secret: 's3cret' });
    expect(await auth.lookup('docker.io')).toEqual({ username: '', secret: 'idt', identityToken: true });
    expect(await auth.lookup('other.example')).toBeNull();
    expect([...(await auth.all()).keys()].sort()).toEqual(['https://index.docker.io/v1/', 'r.example']);
  });

  it('lets a credHelpers entry win over the store and the file for its registry', async () => {
    const env = await configDir(
      { auths: { 'r.example': { auth: basic('file', 'f') } }, credHelpers: { 'r.example': 'own' } },
      { own: storeHelper({ 'r.example': ['helper', 'h'] }) },
    );
    const auth = await loadRegistryAuth(env);
    expect(auth.registries()).toEqual(['r.example']);
    expect(await auth.lookup('r.example')).toEqual({ username: 'helper', secret: 'h' });
    expect(await auth.all()).toEqual(new Map([['r.example', { username: 'helper', secret: 'h' }]]));
  });

  it('names a missing helper and a failing one with E_CREDENTIAL_HELPER, and a bad answer without quoting it', async () => {
    const missing = await configDir({ credHelpers: { 'r.example': 'absent' } });
    const notFound = await rejected((await loadRegistryAuth(missing)).lookup('r.example'));
    expect(notFound.code).toBe('E_CREDENTIAL_HELPER');
    expect(notFound.message).toContain('docker-credential-absent is not on PATH');
    const failing = await configDir({ credsStore: 'broken' }, { broken: 'echo "keyring is locked" >&2; exit 3' });
    const failed = await rejected(loadRegistryAuth(failing));
    expect(failed.code).toBe('E_CREDENTIAL_HELPER');
    expect(failed.message).toBe(
      'The credential helper docker-credential-broken list failed (exit 3): keyring is locked',
    );
    const garbage = await configDir({ credHelpers: { 'r.example': 'garbage' } }, { garbage: 'echo "user hunter2"' });
    const badAnswer = await rejected((await loadRegistryAuth(garbage)).lookup('r.example'));
    expect(badAnswer.message).toContain('printed something that is not JSON');
    expect(badAnswer.message).not.toContain('hunter2');
  });
});

describe('X-Registry-Config', () => {
  it('is padded base64url JSON of every registry, logins and identity tokens as the Engine API takes them', async () => {
    const header = registryConfigHeader(
      new Map([
        ['r.example:5000', { username: 'u', secret: 'p?>' }],
        ['https://index.docker.io/v1/', { username: '', secret: 'tok', identityToken: true }],
      ]),
    ) as string;
    expect(header).toMatch(/^[A-Za-z0-9_-]+=*$/);
    expect(header.length % 4).toBe(0);
    expect(JSON.parse(Buffer.from(header, 'base64url').toString('utf8'))).toEqual({
      'r.example:5000': { username: 'u', password: 'p?>', serveraddress: 'r.example:5000' },
      'https://index.docker.io/v1/': { identitytoken: 'tok', serveraddress: 'https://index.docker.io/v1/' },
    });
    expect(registryConfigHeader(new Map())).toBeNull();
  });

  it('is read once per build, when the first request needs it', async () => {
    const env = await configDir({ auths: { 'r.example': { auth: basic('a', 'b') } } });
    const header = registryConfigOnce(env);
    const first = await header();
    expect(first.header).not.toBeNull();
    await writeFile(join(env.DOCKER_CONFIG, 'config.json'), '{}');
    expect(await header()).toBe(first);
    expect(await registryConfigOnce(env)()).toEqual({ header: null, warning: null });
  });

  it('sends nothing and says why when the credentials cannot be read, as the docker CLI builds on', async () => {
    const env = await configDir({ credsStore: 'absent-helper' });
    const config = await registryConfigOnce(env)();
    expect(config.header).toBeNull();
    expect(config.warning).toContain('E_CREDENTIAL_HELPER');
    expect(config.warning).toContain('docker-credential-absent-helper');
  });
});

describe('a registry refusing a pull', () => {
  const hint = 'The full log is in /x.';
  it.each([
    ['the classic builder', 'Head "http://127.0.0.1:5000/v2/team/base/manifests/1": no basic auth credentials'],
    [
      'buildah',
      'creating build container: initializing source docker://127.0.0.1:5000/team/base:1: reading manifest 1 in 127.0.0.1:5000/team/base: unauthorized: authentication required',
    ],
    [
      'BuildKit without a session',
      '[internal] load metadata for 127.0.0.1:5000/team/base:1: failed to solve with frontend dockerfile.v0: failed to create LLB definition: no active sessions',
    ],
    [
      'BuildKit',
      'failed to solve: 127.0.0.1:5000/team/base:1: failed to authorize: failed to fetch oauth token: unexpected status: 401 Unauthorized',
    ],
  ])('is E_REGISTRY_UNAUTHORIZED naming the registry, from %s', (_who, message) => {
    const error = registryRefusal('api', message, hint);
    expect(error?.code).toBe('E_REGISTRY_UNAUTHORIZED');
    expect(error?.message).toContain('the registry 127.0.0.1:5000 ');
    expect(error?.message).toContain(message);
  });

  it('names Docker Hub for an image without a registry host', () => {
    const error = registryRefusal(
      'api',
      "pull access denied for team/base, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
      hint,
    );
    expect(error?.message).toContain('the registry docker.io ');
    expect(error?.hint).toContain('docker login docker.io');
  });

  it('leaves other build errors, and failing RUN steps that print such words, to E_BUILD_FAILED', () => {
    expect(
      registryRefusal('api', "The command '/bin/sh -c echo unauthorized; false' returned a non-zero code: 1", hint),
    ).toBeNull();
    expect(registryRefusal('api', 'COPY failed: file not found in build context', hint)).toBeNull();
  });
});
