import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openProject } from '../../src/core/project/detect';
import { SlipwayError } from '../../src/shared/errors';
import { folderWith } from '../support/fixtures';
import { failureOf } from '../support/streams';

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups) await cleanup();
  cleanups = [];
});

async function project(files: Record<string, string>): Promise<string> {
  const dir = await folderWith(files, 'slipway-project-');
  cleanups.push(dir.cleanup);
  return dir.path;
}

async function failure(path: string): Promise<SlipwayError> {
  const error = await failureOf(openProject(path));
  expect(error).toBeInstanceOf(SlipwayError);
  return error as SlipwayError;
}

describe('finding the tasks of a project', () => {
  it('makes a lone root Dockerfile one task named main', async () => {
    const root = await project({ Dockerfile: 'FROM scratch\n' });
    const found = await openProject(root);
    expect(found.composeFile).toBeNull();
    expect(found.tasks).toEqual([{ id: 'main', service: 'main', contextPath: root, dockerfile: 'Dockerfile' }]);
  });

  it("picks the compose file by Compose's precedence", async () => {
    const service = (name: string) => `services:\n  ${name}:\n    build: .\n`;
    const all = {
      Dockerfile: 'FROM scratch\n',
      'compose.yaml': service('a'),
      'compose.yml': service('b'),
      'docker-compose.yml': service('c'),
      'docker-compose.yaml': service('d'),
    };
    expect((await openProject(await project(all))).tasks[0]?.id).toBe('a');
    const { 'compose.yaml': _a, ...withoutA } = all;
    expect((await openProject(await project(withoutA))).tasks[0]?.id).toBe('b');
    const { 'compose.yml': _b, ...withoutB } = withoutA;
    expect((await openProject(await project(withoutB))).tasks[0]?.id).toBe('c');
    const { 'docker-compose.yml': _c, ...withoutC } = withoutB;
    expect((await openProject(await project(withoutC))).tasks[0]?.id).toBe('d');
  });

  it('reads every build form, anchors and merge keys, and lists image-only services as external', async () => {
    process.env.SLIPWAY_TEST_FROM_ENV = 'from-env';
    const root = await project({
      'compose.yml': `
x-args: &args
  A: "1"
  B: two
x-build: &build
  context: api
  args:
    <<: *args
    B: overridden
services:
  web:
    build: web
  api:
    build:
      <<: *build
      target: runtime
      labels: { team: core }
  worker:
    build:
      context: worker
      dockerfile: ../shared/worker.Dockerfile
      args: [X=1, SLIPWAY_TEST_FROM_ENV, SLIPWAY_TEST_UNSET]
      labels: [a=b]
  inline:
    build:
      context: web
      dockerfile_inline: |
        FROM scratch
  cache:
    image: redis:7
`,
      'web/Dockerfile': 'FROM scratch\n',
      'api/Dockerfile': 'FROM scratch\n',
      'worker/job': 'x',
      'shared/worker.Dockerfile': 'FROM scratch\n',
    });
    const found = await openProject(root);
    expect(found.composeFile).toBe(join(root, 'compose.yml'));
    expect(found.external).toEqual([{ service: 'cache', image: 'redis:7' }]);
    const byId = Object.fromEntries(found.tasks.map((task) => [task.id, task]));
    expect(Object.keys(byId)).toEqual(['web', 'api', 'worker', 'inline']);
    expect(byId.web).toEqual({
      id: 'web',
      service: 'web',
      contextPath: join(root, 'web'),
      dockerfile: 'Dockerfile',
      tags: [`${found.name}-web`],
    });
    expect(byId.api).toMatchObject({
      contextPath: join(root, 'api'),
      buildArgs: { A: '1', B: 'overridden' },
      target: 'runtime',
      labels: { team: 'core' },
    });
    expect(byId.worker).toMatchObject({
      contextPath: join(root, 'worker'),
      dockerfileOutside: join(root, 'shared/worker.Dockerfile'),
      buildArgs: { X: '1', SLIPWAY_TEST_FROM_ENV: 'from-env' },
      labels: { a: 'b' },
    });
    expect(byId.inline?.dockerfileInline).toBe('FROM scratch\n');
  });

  it('names the service and the path when a context is missing', async () => {
    const root = await project({ 'compose.yaml': 'services:\n  api:\n    build: ./nope\n' });
    const error = await failure(root);
    expect(error.code).toBe('E_CONTEXT_NOT_FOUND');
    expect(error.message).toContain('service "api"');
    expect(error.message).toContain(join(root, 'nope'));
  });

  it('names the service and the path when a Dockerfile is missing', async () => {
    const root = await project({
      'compose.yaml': 'services:\n  api:\n    build:\n      context: api\n      dockerfile: Missing.Dockerfile\n',
      'api/x': '',
    });
    const error = await failure(root);
    expect(error.code).toBe('E_NO_DOCKERFILE');
    expect(error.message).toContain('service "api"');
    expect(error.message).toContain(join(root, 'api/Missing.Dockerfile'));
  });

  it('gives the line of malformed YAML', async () => {
    const root = await project({ 'compose.yaml': 'services:\n  api:\n    build: [a\n  web: {\n' });
    const error = await failure(root);
    expect(error.code).toBe('E_COMPOSE_INVALID');
    expect(error.message).toContain(join(root, 'compose.yaml'));
    expect(error.message).toMatch(/at line \d+, column \d+/);
  });

  it('says a compose file that only pulls images has nothing to build', async () => {
    const error = await failure(await project({ 'compose.yaml': 'services:\n  db:\n    image: postgres\n' }));
    expect(error.code).toBe('E_NO_DOCKERFILE');
    expect(error.hint).toContain('db');
  });
});
