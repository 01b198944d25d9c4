import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli';
import { type FakeCaptureBuilder, startFakeCaptureBuilder } from '../support/fake-capture-builder';
import { tempDir } from '../support/fixtures';
import { describeEntries, listTar } from '../support/tar-list';

// The docker CLI is the reference; .ci/run installs one where the machine has none.
const DOCKER = ['/usr/local/bin/docker', '/usr/bin/docker'].find((path) => existsSync(path)) ?? '/usr/local/bin/docker';
const run = promisify(execFile);

interface Case {
  name: string;
  ignore: string | null;
  files: Record<string, string | { link: string } | { fifo: true } | { socket: true }>;
  /** The Dockerfile relative to the project folder; the context is the project's `ctx` folder when set. */
  dockerfile?: string;
  /** Makes what a path string cannot name (names that are not UTF-8), in the project folder. */
  extra?: (root: string) => Promise<void>;
}

const common: Case['files'] = {
  'ctx/Dockerfile': 'FROM scratch\n',
  'ctx/README.md': 'read me',
  'ctx/a.log': 'log',
  'ctx/important.log': 'keep',
  'ctx/build/out.bin': 'bin',
  'ctx/src/build/keep.ts': 'nested build folder',
  'ctx/src/app.ts': 'app',
  'ctx/src/app.test.ts': 'test',
  'ctx/src/deep/er/x.tmp': 'tmp',
  'ctx/src/deep/er/y.go': 'go',
  'ctx/docs/guide/draft-1.md': 'draft',
  'ctx/docs/guide/final.md': 'final',
  'ctx/node_modules/keep/package.json': '{}',
  'ctx/node_modules/keep/index.js': 'js',
  'ctx/node_modules/other/package.json': '{}',
  'ctx/vendor/a/keep.txt': 'not brought back by a wildcard exception',
  'ctx/vendor/keep.txt': 'brought back',
  'ctx/.git/HEAD': 'ref',
  'ctx/.env': 'secret',
  'ctx/empty-folder/.keep': '',
  'ctx/link-to-src': { link: 'src' },
  'ctx/dangling': { link: '../outside/nowhere' },
};

const cases: Case[] = [
  { name: 'no .dockerignore', ignore: null, files: common },
  {
    name: 'globs, ** and exceptions',
    ignore: '*.log\n!important.log\n**/*.tmp\ndocs/**/draft*\n# a comment\n   \n.git\n',
    files: common,
  },
  {
    name: 'a leading slash, ./ and trailing slashes, CRLF lines',
    ignore: '/build\r\n./README.md\r\nsrc/deep/\r\n/.env\r\n',
    files: common,
  },
  {
    name: 'excluded folders walked only for exceptions under them',
    ignore: 'node_modules\n!node_modules/keep/package.json\nvendor\n!vendor/*/keep.txt\n!vendor/keep.txt\n',
    files: common,
  },
  {
    name: 'everything out but a few, the Dockerfile and .dockerignore kept anyway',
    ignore: '*\n!src\nsrc/**/*.test.ts\n.dockerignore\nDockerfile\n',
    files: common,
  },
  { name: '** with an exception that cannot reach into folders', ignore: '**\n!**/*.go\n!*.md\n', files: common },
  {
    name: 'a Dockerfile in an excluded folder',
    ignore: 'docker\n*.md\n',
    files: { ...common, 'ctx/docker/Dockerfile': 'FROM scratch\n', 'ctx/docker/other': 'left out' },
    dockerfile: 'ctx/docker/Dockerfile',
  },
  {
    name: 'a Dockerfile outside the context',
    ignore: '*.log\n',
    files: { ...common, 'dockerfiles/app.Dockerfile': 'FROM scratch\n' },
    dockerfile: 'dockerfiles/app.Dockerfile',
  },
  {
    name: 'a FIFO, sent as a FIFO entry, and a socket, left out',
    ignore: null,
    files: { ...common, 'ctx/pipe': { fifo: true }, 'ctx/src/sock': { socket: true } },
  },
  {
    name: 'names over 100 bytes, deep paths over 255 bytes, and names that are not UTF-8',
    ignore: null,
    files: {
      ...common,
      [`ctx/${'n'.repeat(120)}.txt`]: 'one long name',
      [`ctx/${'deep/'.repeat(30)}${'f'.repeat(90)}`]: 'a deep path',
      [`ctx/links/${'l'.repeat(110)}`]: { link: `../${'t'.repeat(150)}` },
      'ctx/caf\u00e9/cr\u00e8me.txt': 'UTF-8 beyond ASCII',
    },
    extra: async (root) => {
      const latin1 = Buffer.concat([
        Buffer.from(`${root}/ctx/`),
        Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2e, 0x74, 0x78, 0x74]),
      ]);
      await writeFile(latin1, 'a latin-1 name');
    },
  },
  {
    name: 'a Dockerfile outside a context without .dockerignore',
    ignore: null,
    files: { ...common, 'dockerfiles/app.Dockerfile': 'FROM scratch\n' },
    dockerfile: 'dockerfiles/app.Dockerfile',
  },
];

/** Sockets the cases listen on, closed after the tests. */
const sockets: Server[] = [];

function listenOn(path: string): Promise<Server> {
  const server = createServer();
  return new Promise((resolve) => server.listen(path, () => resolve(server)));
}

async function makeProject(root: string, test: Case): Promise<void> {
  for (const [path, content] of Object.entries(test.files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    if (typeof content === 'string') await writeFile(join(root, path), content);
    else if ('link' in content) await symlink(content.link, join(root, path));
    else if ('fifo' in content) await run('mkfifo', [join(root, path)]);
    else sockets.push(await listenOn(join(root, path)));
  }
  if (test.ignore !== null) await writeFile(join(root, 'ctx/.dockerignore'), test.ignore);
  await test.extra?.(root);
  if (test.dockerfile) {
    const relative = join('..', test.dockerfile);
    await writeFile(
      join(root, 'compose.yaml'),
      `services:\n  app:\n    build:\n      context: ctx\n      dockerfile: ${relative}\n`,
    );
  }
}

// The CLI names the Dockerfile it adds ".dockerfile.<20 random hex>"; so does Slipway.
const sameRandomName = (name: string) => name.replace(/^\.dockerfile\.[0-9a-f]{20}$/, '.dockerfile.RANDOM');

const dockerMissing = !existsSync(DOCKER);
if (dockerMissing && process.env.CI)
  throw new Error(`CI must run the parity test, and the docker CLI is not at ${DOCKER}`);
if (dockerMissing)
  console.warn(`Skipped: the docker CLI is not at ${DOCKER}; it is the reference this test compares with.`);

describe.skipIf(dockerMissing)('the context Slipway sends', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let fake: FakeCaptureBuilder;
  beforeAll(async () => {
    work = await tempDir('slipway-parity-');
    fake = await startFakeCaptureBuilder(work.path);
  });
  afterAll(async () => {
    for (const server of sockets) server.close();
    await fake.close();
    await work.cleanup();
  });

  for (const test of cases) {
    it(`holds the same entries as DOCKER_BUILDKIT=0 docker build's: ${test.name}`, async () => {
      const root = join(work.path, test.name.replace(/[^a-z]+/gi, '-'));
      await makeProject(root, test);
      const dockerArgs = ['build', ...(test.dockerfile ? ['-f', join(root, test.dockerfile)] : []), join(root, 'ctx')];
      await run(DOCKER, dockerArgs, {
        env: {
          ...process.env,
          DOCKER_HOST: fake.url,
          DOCKER_BUILDKIT: '0',
          DOCKER_CONFIG: join(work.path, 'docker-config'),
        },
      });
      const docker = fake.captures.at(-1);
      const slipwayProject = test.dockerfile ? root : join(root, 'ctx');
      const cli = await runCli(['build', slipwayProject, '--builder', fake.url, '--data-dir', join(work.path, 'data')]);
      expect(cli.stderr).toContain('done in');
      const slipway = fake.captures.at(-1);
      expect(slipway).not.toBe(docker);
      const dockerEntries = describeEntries(await listTar(docker?.file as string), sameRandomName);
      const slipwayEntries = describeEntries(await listTar(slipway?.file as string), sameRandomName);
      expect(slipwayEntries).toEqual(dockerEntries);
      expect(sameRandomName(slipway?.query.get('dockerfile') ?? '')).toBe(
        sameRandomName(docker?.query.get('dockerfile') ?? ''),
      );
    });
  }
});
