import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { SlipwayEvent } from '../../src/shared/contract';
import type { Build } from '../../src/shared/domain';
import { runCli } from '../support/cli';
import { dockerUrl, engineUrl, imageExists } from '../support/engine';
import { folderWith, tempDir } from '../support/fixtures';
import { pushBaseImage, removeImage } from '../support/registry';

const podman = engineUrl();
const docker = dockerUrl();
const host = inject('registryHost');
const username = inject('registryUsername');
const password = inject('registryPassword');
if (!host) console.warn(`Skipped: ${inject('registryMissing')}`);

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A temporary folder, removed after the file's tests. */
const temp = (prefix?: string) =>
  tempDir(prefix).then((dir) => {
    cleanups.push(dir.cleanup);
    return dir.path;
  });

/** Every file under a folder, with its content. */
async function filesUnder(dir: string): Promise<{ path: string; text: string }[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return Promise.all(
    entries
      .filter((entry) => entry.isFile())
      .map(async (entry) => {
        const path = join(entry.parentPath, entry.name);
        return { path, text: await readFile(path, 'latin1') };
      }),
  );
}

/** The forms the password could leak in: as is, in config.json's `auth`, in X-Registry-Config's JSON. */
function secretForms(): string[] {
  const basic = Buffer.from(`${username}:${password}`).toString('base64');
  return [password, basic, Buffer.from(password).toString('base64').slice(0, 12)];
}

/** A docker config folder: config.json with these fields, and a fake credential helper beside it. */
async function dockerConfig(config: Record<string, unknown>) {
  const dir = await temp('slipway-docker-config-');
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  const calls = join(dir, 'helper-calls');
  // A FAKE credential helper (docker-credential-helpers' protocol): the server URL on stdin, JSON out.
  await writeFile(
    join(dir, 'docker-credential-test'),
    `#!/bin/sh
server=$(cat)
echo "$1 $server" >> '${calls}'
case "$1" in
  get)
    if [ "$server" = '${host}' ]; then
      printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}' '${host}' '${username}' '${password}'
    else
      echo 'credentials not found in native keychain'; exit 1
    fi ;;
  list) printf '{"%s":"%s"}' '${host}' '${username}' ;;
  *) echo "unknown action $1" >&2; exit 1 ;;
esac
`,
    { mode: 0o755 },
  );
  return { env: { DOCKER_CONFIG: dir, PATH: `${dir}:${process.env.PATH}` }, calls };
}

const auths = () => ({
  auths: { [host]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } },
});

let base = '';

beforeAll(async () => {
  if (!host || !podman) return;
  // The base image exists only in the registry: built on Podman, pushed with a login, removed again.
  base = await pushBaseImage(podman, { host, username, password, stop: async () => {} }, 'slipway/base');
  await removeImage(podman, base);
}, 120_000);

/** Builds `FROM <private base>` through the CLI with this docker config; removes what it pulled after. */
async function buildFromPrivate(engine: string, env: NodeJS.ProcessEnv, args: string[] = []) {
  const dir = await folderWith({ Dockerfile: `FROM ${base}\nCOPY hello.txt /hello.txt\n`, 'hello.txt': 'hi\n' });
  cleanups.push(dir.cleanup);
  const data = await temp();
  const tmp = await temp('slipway-registry-tmpdir-');
  const tag = `slipway-test/private-base:${randomBytes(3).toString('hex')}`;
  const run = await runCli(['build', dir.path, '--json', '--data-dir', data, '--builder', engine, '-t', tag, ...args], {
    env: { ...env, TMPDIR: tmp },
  });
  const events = run.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as SlipwayEvent & { error?: { code: string; message: string } });
  const started = events.find((event) => event.type === 'build.started') as { build: Build } | undefined;
  const id = started?.build.id as string;
  const record = id ? (JSON.parse(await readFile(join(data, 'builds', id, 'build.json'), 'utf8')) as Build) : null;
  const built = await imageExists(engine, tag);
  await removeImage(engine, tag);
  await removeImage(engine, base);
  // Nothing of the secret anywhere: the data directory (spool, index, build.json), the CLI's TMPDIR
  // (the scan's spool) and what was printed.
  const leaks = [
    ...(await filesUnder(data)),
    ...(await filesUnder(tmp)),
    { path: 'stdout', text: run.stdout },
    { path: 'stderr', text: run.stderr },
  ]
    .filter((file) => secretForms().some((form) => file.text.includes(form)))
    .map((file) => file.path);
  return { run, record, built, leaks, events };
}

const engines = [
  { name: 'Podman', url: () => podman, args: [] as string[] },
  { name: 'Docker classic', url: () => docker, args: ['--builder-version', '1'] },
  // BuildKit reads no X-Registry-Config: it asks for credentials through the session's Auth service.
  { name: 'Docker with BuildKit', url: () => docker, args: ['--builder-version', '2'] },
];

describe.skipIf(!host || !podman)('a base image in a private registry with a login', () => {
  for (const engine of engines) {
    describe(`on ${engine.name}`, () => {
      it.skipIf(!engine.url())(
        'builds FROM it with the login in config.json auths, and writes the password nowhere',
        async () => {
          const { env } = await dockerConfig(auths());
          const result = await buildFromPrivate(engine.url(), env, engine.args);
          expect(result.run.code, result.run.stdout + result.run.stderr).toBe(0);
          expect(result.record?.status).toBe('succeeded');
          expect(result.built).toBe(true);
          expect(result.leaks).toEqual([]);
        },
      );

      it.skipIf(!engine.url())('builds FROM it with the credentials of a credsStore helper', async () => {
        const { env, calls } = await dockerConfig({ auths: { [host]: {} }, credsStore: 'test' });
        const result = await buildFromPrivate(engine.url(), env, engine.args);
        expect(result.run.code, result.run.stdout + result.run.stderr).toBe(0);
        expect(result.built).toBe(true);
        expect(await readFile(calls, 'utf8')).toContain(`get ${host}`);
        expect(result.leaks).toEqual([]);
      });

      it.skipIf(!engine.url())('builds FROM it with the credentials of a credHelpers entry for its host', async () => {
        const { env, calls } = await dockerConfig({ credHelpers: { [host]: 'test' } });
        const result = await buildFromPrivate(engine.url(), env, engine.args);
        expect(result.run.code, result.run.stdout + result.run.stderr).toBe(0);
        expect(result.built).toBe(true);
        // Only the host's own helper is asked, and only for that host (BuildKit may ask more than once).
        const asked = (await readFile(calls, 'utf8')).trim().split('\n');
        expect(asked.length).toBeGreaterThan(0);
        expect(new Set(asked)).toEqual(new Set([`get ${host}`]));
        expect(result.leaks).toEqual([]);
      });

      it.skipIf(!engine.url())(
        'fails without credentials with E_REGISTRY_UNAUTHORIZED naming the registry',
        async () => {
          const { env } = await dockerConfig({});
          const result = await buildFromPrivate(engine.url(), env, engine.args);
          expect(result.run.code).toBe(1);
          expect(result.built).toBe(false);
          expect(result.record?.status).toBe('failed');
          const error = result.record?.tasks[0]?.state.phase === 'failed' ? result.record.tasks[0].state.error : null;
          expect(error?.code, result.run.stdout).toBe('E_REGISTRY_UNAUTHORIZED');
          expect(error?.message).toContain(host);
        },
      );
    });
  }
});

describe.skipIf(!host || !podman)('a docker config that cannot be used', () => {
  it('builds without credentials, as the docker CLI does, when the credsStore helper is not on PATH, and the log says why', async () => {
    const { env } = await dockerConfig({ credsStore: 'absent' });
    const result = await buildFromPrivate(podman, env);
    // The private base needs the login the missing helper holds: the pull is refused, and the log names the helper.
    expect(result.run.code).toBe(1);
    const error = result.record?.tasks[0]?.state.phase === 'failed' ? result.record.tasks[0].state.error : null;
    expect(error?.code, result.run.stdout).toBe('E_REGISTRY_UNAUTHORIZED');
    expect(result.built).toBe(false);
    // --json prints each log line as a task.line event.
    expect(result.run.stdout).toContain('The credential helper docker-credential-absent is not on PATH');
  });

  it('builds FROM scratch with that config: a public base needs no credentials', async () => {
    const { env } = await dockerConfig({ credsStore: 'absent' });
    const dir = await folderWith({ Dockerfile: 'FROM scratch\nCOPY hello.txt /hello.txt\n', 'hello.txt': 'hi\n' });
    cleanups.push(dir.cleanup);
    const data = await temp();
    const tag = `slipway-test/no-helper:${randomBytes(3).toString('hex')}`;
    const run = await runCli(['build', dir.path, '--data-dir', data, '--builder', podman, '-t', tag], { env });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('docker-credential-absent is not on PATH');
    expect(await imageExists(podman, tag)).toBe(true);
    await removeImage(podman, tag);
  });
});

describe.skipIf(!host)('slipway inspect', () => {
  it('names the registries that have credentials, and prints none of them', async () => {
    const { env } = await dockerConfig({ ...auths(), credHelpers: { 'helper.example': 'test' } });
    const dir = await folderWith({ Dockerfile: `FROM ${host}/slipway/base:1\n` });
    cleanups.push(dir.cleanup);
    const json = await runCli(['inspect', dir.path, '--json'], { env });
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as { registries: { registries: string[]; error: unknown } };
    expect(report.registries.registries).toEqual([host, 'helper.example'].sort());
    expect(report.registries.error).toBeNull();
    const text = await runCli(['inspect', dir.path], { env });
    expect(text.stdout).toMatch(
      new RegExp(`registry credentials \\(.*config\\.json\\): .*${host.replace('.', '\\.')}`),
    );
    for (const output of [json.stdout, json.stderr, text.stdout, text.stderr]) {
      for (const form of secretForms()) expect(output).not.toContain(form);
    }
  });
});
