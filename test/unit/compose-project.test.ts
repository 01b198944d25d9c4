import { symlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseByteValue } from '../../src/core/project/build-task';
import { openProject } from '../../src/core/project/detect';
import type { ProjectOptions, Task } from '../../src/shared/domain';
import { SlipwayError } from '../../src/shared/errors';
import { folderWith } from '../support/fixtures';
import { failureOf } from '../support/streams';

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups) await cleanup();
  cleanups = [];
});

const DOCKERFILE = 'FROM scratch\n';

async function folder(files: Record<string, string>): Promise<string> {
  const dir = await folderWith(files, 'slipway-compose-');
  cleanups.push(dir.cleanup);
  return dir.path;
}

function open(path: string, options: ProjectOptions = {}, env: Record<string, string> = {}) {
  return openProject(path, options, { env });
}

async function failure(promise: Promise<unknown>): Promise<SlipwayError> {
  const error = await failureOf(promise);
  expect(error).toBeInstanceOf(SlipwayError);
  return error as SlipwayError;
}

function byService(tasks: Task[]): Record<string, Task> {
  return Object.fromEntries(tasks.map((task) => [task.service, task]));
}

describe('variables: the process environment over .env', () => {
  it('interpolates contexts, args and tags from .env, the environment winning', async () => {
    const root = await folder({
      '.env': 'APP_DIR=app\nVERSION=1.0\nTOKEN_SECRET=hunter2\n',
      'compose.yaml': `services:
  web:
    image: example/web:\${VERSION}
    build:
      context: \${APP_DIR:-missing}
      args:
        VERSION: \${VERSION}
        UNSET_ARG: \${NOT_SET}
`,
      'app/Dockerfile': DOCKERFILE,
    });
    const project = await open(root, {}, { VERSION: '2.0' });
    const web = project.tasks[0] as Task;
    expect(web.contextPath).toBe(join(root, 'app'));
    expect(web.buildArgs).toEqual({ VERSION: '2.0', UNSET_ARG: '' });
    expect(web.tags).toEqual(['example/web:2.0']);
    expect(project.compose?.warnings.some((w) => w.includes('"NOT_SET"') && w.includes('compose.yaml'))).toBe(true);
    const variables = Object.fromEntries(project.compose?.variables.map((v) => [v.name, v]) ?? []);
    expect(variables.VERSION).toMatchObject({ value: '1.0', overridden: true, file: join(root, '.env') });
    expect(variables.TOKEN_SECRET).toMatchObject({ value: '********', masked: true });
  });

  it('resolves value-less build args from the environment, then .env, and leaves out unset ones with a warning', async () => {
    const root = await folder({
      '.env': 'SENTRY_IMAGE=getsentry/sentry:nightly\nFROM_BOTH=file\n',
      'compose.yaml':
        'services:\n  web:\n    build:\n      context: .\n      args: [SENTRY_IMAGE, FROM_BOTH, NOWHERE]\n',
      Dockerfile: DOCKERFILE,
    });
    const project = await open(root, {}, { FROM_BOTH: 'env' });
    expect(project.tasks[0]?.buildArgs).toEqual({ SENTRY_IMAGE: 'getsentry/sentry:nightly', FROM_BOTH: 'env' });
    expect(project.compose?.services[0]?.warnings.join()).toContain('NOWHERE has no value');
  });

  it('reads --env-file instead of .env', async () => {
    const root = await folder({
      '.env': 'TAG=dotenv\n',
      'prod.env': 'TAG=prod\n',
      'compose.yaml': 'services:\n  web:\n    image: web:${TAG}\n    build: .\n',
      Dockerfile: DOCKERFILE,
    });
    expect((await open(root, { envFile: 'prod.env' })).tasks[0]?.tags).toEqual(['web:prod']);
    expect((await failure(open(root, { envFile: 'none.env' }))).code).toBe('E_PROJECT_NOT_FOUND');
  });

  it('stops with a coded error naming the variable when a required one is missing', async () => {
    const root = await folder({ 'compose.yaml': 'services:\n  web:\n    build: ${CTX:?set CTX to the app folder}\n' });
    const error = await failure(open(root));
    expect(error.code).toBe('E_COMPOSE_VARIABLE');
    expect(error.message).toContain('CTX');
    expect(error.message).toContain('set CTX to the app folder');
  });
});

describe('compose files: default, override, COMPOSE_FILE, explicit', () => {
  const base = 'services:\n  web:\n    build:\n      context: .\n      target: dev\n';
  const override = 'services:\n  web:\n    build:\n      target: prod\n  extra:\n    build: extra\n';

  it('merges compose.override.yaml over the default file', async () => {
    const root = await folder({
      'compose.yaml': base,
      'compose.override.yaml': override,
      Dockerfile: DOCKERFILE,
      'extra/Dockerfile': DOCKERFILE,
    });
    const project = await open(root);
    expect(project.compose?.files).toEqual([join(root, 'compose.yaml'), join(root, 'compose.override.yaml')]);
    expect(byService(project.tasks).web?.target).toBe('prod');
    expect(Object.keys(byService(project.tasks))).toEqual(['web', 'extra']);
  });

  it('takes COMPOSE_FILE (from .env too) split by COMPOSE_PATH_SEPARATOR, and an explicit list over both', async () => {
    const root = await folder({
      'a.yml': base,
      'b.yml': override,
      '.env': 'COMPOSE_FILE=a.yml;b.yml\nCOMPOSE_PATH_SEPARATOR=;\n',
      Dockerfile: DOCKERFILE,
      'extra/Dockerfile': DOCKERFILE,
    });
    const fromEnv = await open(root);
    expect(fromEnv.compose?.filesFrom).toBe('COMPOSE_FILE');
    expect(byService(fromEnv.tasks).web?.target).toBe('prod');
    const explicit = await open(root, { files: ['a.yml'] });
    expect(explicit.compose?.files).toEqual([join(root, 'a.yml')]);
    expect(byService(explicit.tasks).web?.target).toBe('dev');
    expect((await failure(open(root, { files: ['nope.yml'] }))).message).toContain('nope.yml');
  });

  it("makes the first file's folder the project directory, allowing contexts above it", async () => {
    const root = await folder({
      'docker/compose.yml':
        'services:\n  app:\n    build:\n      context: ..\n      dockerfile: docker/app.Dockerfile\n',
      'docker/app.Dockerfile': DOCKERFILE,
      'docker/.env': 'X=1\n',
    });
    const project = await open(root, { files: ['docker/compose.yml'] });
    expect(project.compose?.projectDir).toBe(join(root, 'docker'));
    expect(project.tasks[0]).toMatchObject({ contextPath: root, dockerfile: 'docker/app.Dockerfile' });
    expect(project.compose?.variables.map((v) => v.name)).toEqual(['X']);
  });

  it('opens a parent folder whose compose file is only in docker/, saying so', async () => {
    // A root Dockerfile wins: that is what the folder holds.
    const withDockerfile = await folder({
      'docker/compose.yml': 'services:\n  app:\n    build: ..\n',
      Dockerfile: DOCKERFILE,
    });
    expect((await open(withDockerfile)).compose).toBeUndefined();
    const two = await folder({ 'a/compose.yaml': 'services: {}\n', 'b/compose.yaml': 'services: {}\n' });
    const error = await failure(open(two));
    expect(error.code).toBe('E_NO_DOCKERFILE');
    expect(error.message).toContain(join('a', 'compose.yaml'));
    expect(error.message).toContain(join('b', 'compose.yaml'));
    const one = await folder({
      'docker/compose.yml': 'services:\n  app:\n    build:\n      context: ..\n      dockerfile: docker/Dockerfile\n',
      'docker/Dockerfile': DOCKERFILE,
    });
    const found = await open(one);
    expect(found.compose?.filesFrom).toBe('sub-folder');
    expect(found.compose?.warnings[0]).toContain(join('docker', 'compose.yml'));
    expect(found.tasks[0]?.contextPath).toBe(one);
  });
});

describe('profiles', () => {
  // profiles.md's illustrative example, with builds.
  const files = {
    'compose.yaml': `services:
  web:
    build: web
  test_lib:
    build: test
    profiles: [test]
  coverage_lib:
    build: missing-context
    depends_on: [test_lib]
    profiles: [test]
  debug_lib:
    build: debug
    depends_on: [test_lib]
    profiles: [debug]
`,
    'web/Dockerfile': DOCKERFILE,
    'test/Dockerfile': DOCKERFILE,
    'debug/Dockerfile': DOCKERFILE,
  };

  it('builds only services without profiles by default, listing the others as inactive and never checking them', async () => {
    const project = await open(await folder(files));
    expect(project.tasks.map((task) => task.service)).toEqual(['web']);
    expect(project.compose?.services.filter((s) => s.state === 'inactive').map((s) => s.service)).toEqual([
      'test_lib',
      'coverage_lib',
      'debug_lib',
    ]);
    expect(project.compose?.profiles).toEqual([
      { name: 'test', active: false },
      { name: 'debug', active: false },
    ]);
  });

  it('activates profiles from COMPOSE_PROFILES, an explicit choice winning', async () => {
    const root = await folder(files);
    const debug = await open(root, {}, { COMPOSE_PROFILES: 'debug' });
    expect(debug.tasks.map((task) => task.service)).toEqual(['web', 'debug_lib']);
    expect(debug.compose?.warnings.join()).toContain('"debug_lib" depends on "test_lib"');
    const error = await failure(open(root, { profiles: ['test'] }, { COMPOSE_PROFILES: 'debug' }));
    expect(error.code).toBe('E_CONTEXT_NOT_FOUND');
    expect(error.message).toContain('coverage_lib');
    const all = await failure(open(root, { profiles: ['*'] }));
    expect(all.message).toContain('coverage_lib');
  });

  it('says which profile would build something when no active service builds', async () => {
    const root = await folder({
      'compose.yaml': 'services:\n  tool:\n    build: .\n    profiles: [tools]\n',
      Dockerfile: DOCKERFILE,
    });
    const error = await failure(open(root));
    expect(error.hint).toContain('--profile tools');
    const allowed = await openProject(root, {}, { env: {}, allowNoTasks: true });
    expect(allowed.tasks).toEqual([]);
  });
});

describe('extends', () => {
  it('extends a service of the same file, the local definition merged over it', async () => {
    const root = await folder({
      'compose.yaml': `services:
  base:
    build:
      context: app
      args: { A: "1", B: "1" }
  web:
    extends: base
    build:
      args: { B: "2" }
      target: web
`,
      'app/Dockerfile': DOCKERFILE,
    });
    const web = byService((await open(root)).tasks).web;
    expect(web).toMatchObject({ contextPath: join(root, 'app'), buildArgs: { A: '1', B: '2' }, target: 'web' });
  });

  it("extends a service of another file, its paths relative to that file's folder", async () => {
    const root = await folder({
      'compose.yaml':
        'services:\n  api:\n    extends:\n      file: common/services.yml\n      service: backend\n    build:\n      target: api\n',
      'common/services.yml':
        'services:\n  backend:\n    build:\n      context: ./backend\n      labels: [from=common]\n  plain:\n    extends: backend\n',
      'common/backend/Dockerfile': DOCKERFILE,
    });
    const api = (await open(root)).tasks[0];
    expect(api).toMatchObject({ contextPath: join(root, 'common/backend'), target: 'api', labels: { from: 'common' } });
  });

  it('refuses an extends loop, naming it', async () => {
    const root = await folder({ 'compose.yaml': 'services:\n  a:\n    extends: b\n  b:\n    extends: a\n' });
    const error = await failure(open(root));
    expect(error.code).toBe('E_COMPOSE_INVALID');
    expect(error.message).toContain('extends loops');
  });
});

describe('include', () => {
  it("loads an included project with its own folder and .env, the including project's variables winning", async () => {
    const libDir = await folder({
      'compose.yaml':
        'services:\n  worker:\n    build: ./worker\n    image: worker:${WORKER_TAG}\n  cache:\n    image: redis:${REDIS}\n',
      '.env': 'WORKER_TAG=from-lib\nREDIS=7\n',
      'worker/Dockerfile': DOCKERFILE,
    });
    const root = await folder({
      // Relative to the including file: the two temp folders are siblings.
      'compose.yaml': `include:\n  - ../${basename(libDir)}/compose.yaml\nservices:\n  web:\n    build: .\n`,
      Dockerfile: DOCKERFILE,
    });
    const project = await open(root, {}, { WORKER_TAG: 'from-env' });
    const worker = byService(project.tasks).worker;
    expect(worker).toMatchObject({ contextPath: join(libDir, 'worker'), tags: ['worker:from-env'] });
    expect(project.external).toEqual([{ service: 'cache', image: 'redis:7' }]);
  });

  it('refuses an included service that the project defines too', async () => {
    const lib = await folder({ 'compose.yaml': 'services:\n  web:\n    image: x\n' });
    const root = await folder({
      'compose.yaml': `include:\n  - path: ${lib}/compose.yaml\nservices:\n  web:\n    image: y\n`,
    });
    expect((await failure(open(root))).message).toContain('"web"');
  });
});

describe('build keys to Task', () => {
  it('carries every key Task has a field for, and names the project in default tags', async () => {
    const root = await folder({
      'compose.yaml': `name: My_App
services:
  web:
    platform: linux/amd64
    build:
      context: .
      dockerfile: web.Dockerfile
      args: { A: "1" }
      labels: [team=core]
      target: prod
      network: none
      extra_hosts: ["somehost=162.242.195.82", "myhostv6=[::1]", "other:50.31.209.229"]
      shm_size: 2gb
      cache_from: [alpine:latest, "type=local,src=path/to/cache"]
      pull: true
      no_cache: "true"
      tags: [example/web:extra]
      secrets: [server-certificate, { source: token, target: api_token }]
      ssh: [default, myproject=~/.ssh/myproject.pem]
      additional_contexts:
        assets: ./assets
        app: docker-image://my-app:latest
  remote:
    build: https://github.com/mycompany/example.git#main:sub
secrets:
  server-certificate:
    file: ./server.cert
  token:
    environment: API_TOKEN
`,
      'web.Dockerfile': DOCKERFILE,
      'assets/a.txt': '',
    });
    const project = await open(root);
    expect(project.name).toBe('my_app');
    const { web, remote } = byService(project.tasks);
    expect(web).toMatchObject({
      dockerfile: 'web.Dockerfile',
      buildArgs: { A: '1' },
      labels: { team: 'core' },
      target: 'prod',
      network: 'none',
      extraHosts: ['somehost:162.242.195.82', 'myhostv6:::1', 'other:50.31.209.229'],
      shmSizeBytes: 2 * 1024 ** 3,
      cacheFrom: ['alpine:latest', 'type=local,src=path/to/cache'],
      pull: true,
      noCache: true,
      platforms: ['linux/amd64'],
      tags: ['my_app-web', 'example/web:extra'],
      secrets: [
        { id: 'server-certificate', file: join(root, 'server.cert') },
        { id: 'api_token', env: 'API_TOKEN' },
      ],
      ssh: [
        { id: 'default', paths: [] },
        { id: 'myproject', paths: ['~/.ssh/myproject.pem'] },
      ],
      additionalContexts: { assets: join(root, 'assets'), app: 'docker-image://my-app:latest' },
    });
    expect(remote).toMatchObject({
      remoteContext: 'https://github.com/mycompany/example.git#main:sub',
      tags: ['my_app-remote'],
    });
    expect(project.compose?.warnings.join()).toContain('name "My_App" is used as "my_app"');
  });

  it('refuses build keys it cannot carry with a warning naming key and service', async () => {
    const root = await folder({
      'compose.yaml':
        'services:\n  web:\n    build:\n      context: .\n      privileged: true\n      isolation: hyperv\n      ulimits: { nproc: 65535 }\n      entitlements: [network.host]\n      cache_to: [user/app:cache]\n      made_up: 1\n      x-note: fine\n',
      Dockerfile: DOCKERFILE,
    });
    const service = (await open(root)).compose?.services[0];
    expect(service?.refused).toEqual(['privileged', 'isolation', 'ulimits', 'entitlements', 'cache_to', 'made_up']);
    expect(service?.warnings).toContain(
      'service "web": build.privileged is not carried to the builder: Slipway cannot send it, so the image is built without it',
    );
    expect(service?.warnings.join()).toContain('build.made_up is not a key of the Compose build specification');
    expect(service?.carried).toEqual(['context']);
  });

  it('takes the project name from --project-name, then COMPOSE_PROJECT_NAME, then name:, then the folder', async () => {
    const root = await folder({
      'compose.yaml': 'name: fromfile\nservices:\n  web:\n    build: .\n',
      Dockerfile: DOCKERFILE,
    });
    expect((await open(root, { projectName: 'given' }, { COMPOSE_PROJECT_NAME: 'env' })).tasks[0]?.tags).toEqual([
      'given-web',
    ]);
    expect((await open(root, {}, { COMPOSE_PROJECT_NAME: 'env' })).tasks[0]?.tags).toEqual(['env-web']);
    expect((await open(root)).tasks[0]?.tags).toEqual(['fromfile-web']);
    expect((await failure(open(root, { projectName: 'Bad Name' }))).code).toBe('E_COMPOSE_INVALID');
    const unnamed = await folder({ 'compose.yaml': 'services:\n  Web:\n    build: .\n', Dockerfile: DOCKERFILE });
    expect((await open(unnamed)).name).toMatch(/^slipway-compose-[a-z0-9]+$/);
  });

  it('refuses a secret that the top-level secrets do not define, and platforms without the service platform', async () => {
    const secret = await folder({
      'compose.yaml': 'services:\n  web:\n    build:\n      context: .\n      secrets: [nope]\n',
      Dockerfile: DOCKERFILE,
    });
    expect((await failure(open(secret))).message).toContain('"nope" is not defined');
    const platform = await folder({
      'compose.yaml':
        'services:\n  web:\n    platform: linux/amd64\n    build:\n      context: .\n      platforms: [linux/arm64]\n',
      Dockerfile: DOCKERFILE,
    });
    expect((await failure(open(platform))).message).toContain('linux/amd64');
  });
});

describe('links out of the project (issue 15, item 5)', () => {
  it('refuses a context that is a link to a folder outside the project, naming the link', async () => {
    const outside = await folder({ id_rsa: 'PRIVATE KEY', Dockerfile: DOCKERFILE });
    const root = await folder({ 'compose.yaml': 'services:\n  app:\n    build: ./link\n' });
    await symlink(outside, join(root, 'link'));
    const error = await failure(open(root));
    expect(error.code).toBe('E_CONTEXT_OUTSIDE_PROJECT');
    expect(error.message).toContain(join(root, 'link'));
    expect(error.message).toContain(outside);
  });

  it('refuses a context under a linked folder, and an additional context that is such a link', async () => {
    const outside = await folder({ 'sub/Dockerfile': DOCKERFILE });
    const root = await folder({
      'compose.yaml': 'services:\n  app:\n    build: ./linked/sub\n',
      Dockerfile: DOCKERFILE,
    });
    await symlink(outside, join(root, 'linked'));
    expect((await failure(open(root))).code).toBe('E_CONTEXT_OUTSIDE_PROJECT');
    await writeFile(
      join(root, 'compose.yaml'),
      'services:\n  app:\n    build:\n      context: .\n      additional_contexts: [extra=./linked]\n',
    );
    expect((await failure(open(root))).message).toContain('additional_contexts.extra');
  });

  it('sends a context linked inside the project from its real folder, saying it is a link', async () => {
    const root = await folder({
      'compose.yaml': 'services:\n  app:\n    build: ./link\n',
      'real/Dockerfile': DOCKERFILE,
    });
    await symlink(join(root, 'real'), join(root, 'link'));
    const project = await open(root);
    expect(project.tasks[0]?.contextPath).toBe(join(root, 'real'));
    expect(project.compose?.services[0]?.warnings.join()).toContain(`${join(root, 'link')} is a link`);
  });
});

describe('byte values as the spec writes them (shm_size)', () => {
  it('reads integers as bytes and b, k, m, g with or without a trailing b, 1024-based', () => {
    expect(parseByteValue(10000000, 'shm_size', 'compose.yaml')).toBe(10000000);
    expect(parseByteValue('2gb', 'shm_size', 'compose.yaml')).toBe(2 * 1024 ** 3);
    expect(parseByteValue('512m', 'shm_size', 'compose.yaml')).toBe(512 * 1024 ** 2);
    expect(parseByteValue('1.5k', 'shm_size', 'compose.yaml')).toBe(1536);
    expect(parseByteValue('300b', 'shm_size', 'compose.yaml')).toBe(300);
    expect(() => parseByteValue('lots', 'service "web": build.shm_size', 'compose.yaml')).toThrow(
      /compose\.yaml: service "web": build\.shm_size: "lots" is not a byte value/,
    );
  });
});
