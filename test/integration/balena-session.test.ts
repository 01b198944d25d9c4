import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BalenaBuildOptions } from '../../src/core/builders/balena/api';
import { BalenaDriver } from '../../src/core/builders/balena/driver';
import { BALENA_BUILD_LOG_ID } from '../../src/core/builders/balena-names';
import { BuildSession } from '../../src/core/builds/session';
import { LineFlag } from '../../src/core/logs/log-line';
import { readLines } from '../../src/core/logs/reader';
import type { SlipwayEvent } from '../../src/shared/contract';
import type { Endpoint, Project, TaskState } from '../../src/shared/domain';
import { type FakeBalenaBuilder, type FakeBalenaScript, startFakeBalenaBuilder } from '../support/fake-balena-builder';
import { tempDir } from '../support/fixtures';

const TOKEN = 'tok-3f9a2c-never-printed';

/** A two-service balena project: a compose file, a Dockerfile per service, and things balena leaves out. */
async function composeProject(root: string): Promise<Project> {
  await mkdir(join(root, 'main'), { recursive: true });
  await mkdir(join(root, 'web', 'node_modules', 'left-pad'), { recursive: true });
  await mkdir(join(root, '.git', 'objects'), { recursive: true });
  await mkdir(join(root, 'web', '.git'), { recursive: true });
  await mkdir(join(root, '.balena'), { recursive: true });
  await writeFile(
    join(root, 'docker-compose.yml'),
    'services:\n  main:\n    build: ./main\n  web:\n    build: ./web\n',
  );
  await writeFile(join(root, 'main', 'Dockerfile'), 'FROM scratch\nCOPY . /\n');
  await writeFile(join(root, 'main', 'app.txt'), 'main app\n');
  await writeFile(join(root, 'web', 'Dockerfile'), 'FROM scratch\nCOPY . /\n');
  await writeFile(join(root, 'web', 'Dockerfile.template'), 'FROM balenalib/%%BALENA_MACHINE_NAME%%\n');
  await writeFile(join(root, 'web', 'node_modules', 'left-pad', 'index.js'), 'module.exports = 1;\n');
  await writeFile(join(root, 'web', 'debug.log'), 'noise\n');
  await writeFile(join(root, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  await writeFile(join(root, 'web', '.git', 'HEAD'), 'ref: refs/heads/main\n');
  await writeFile(join(root, '.balena', 'balena.yml'), 'build-variables: {}\n');
  // Leaves out logs and node_modules, and tries (in vain) to leave out what balena always sends.
  await writeFile(
    join(root, '.dockerignore'),
    '**/*.log\n**/node_modules\n**/Dockerfile*\n.balena\ndocker-compose.yml\n',
  );
  const task = (service: string) => ({
    id: service,
    service,
    contextPath: join(root, service),
    dockerfile: 'Dockerfile',
  });
  return {
    id: 'p1',
    path: root,
    name: 'fleet-project',
    composeFile: join(root, 'docker-compose.yml'),
    tasks: [task('main'), task('web')],
    external: [],
  };
}

const successScript: FakeBalenaScript = {
  steps: [
    { message: { message: '[Info]     Starting build for myorg/myfleet, user me' } },
    { message: { type: 'metadata', resource: 'buildLogId', value: '2468013' } },
    { message: { message: '[main]     Step 1/2 : FROM scratch' } },
    { message: { message: '[web]      Step 1/2 : FROM scratch' } },
    { message: { message: '[web]      Uploading 10%', replace: true } },
    { message: { message: '[web]      Uploading 100%', replace: true } },
    { message: { message: '[main]     Step 2/2 : COPY . /' } },
    { message: { message: '[web]      Step 2/2 : COPY . /' } },
    { message: { message: '[main]     Successfully built 1a2b3c' } },
    { message: { message: '[web]      Successfully built 4d5e6f' } },
    { message: { message: '[Success]  Release successfully created!' } },
    { message: { message: '[Info]     Release: abc123 (id: 2468013)' } },
  ],
};

interface BalenaSessionOptions {
  dataDir: string;
  project: Project;
  endpoints: Endpoint[];
  token: string;
  build: BalenaBuildOptions;
  registrySecretsFile?: string | null;
  apiOrigin?: string;
  tag?: string;
  buildArgs?: Record<string, string>;
}

/** A push through the one build session, with the balena driver. */
function balenaSession(
  options: BalenaSessionOptions & { tag?: string; buildArgs?: Record<string, string> },
): BuildSession {
  return new BuildSession({
    tag: options.tag,
    buildArgs: options.buildArgs,
    dataDir: options.dataDir,
    project: options.project,
    target: { name: 'balena', kind: 'balena', endpoints: options.endpoints, fleet: options.build.fleet },
    driver: new BalenaDriver({ ...options }),
  });
}

interface Run {
  session: BuildSession;
  events: SlipwayEvent[];
  lines: { taskId: string; text: string }[];
}

let fake: FakeBalenaBuilder | null = null;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await fake?.close();
  fake = null;
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function setUp(
  script: FakeBalenaScript,
  overrides: Partial<BalenaSessionOptions> | ((fakeUrl: string) => Partial<BalenaSessionOptions>) = {},
) {
  const project = await tempDir('slipway-balena-project-');
  const data = await tempDir('slipway-balena-data-');
  cleanups.push(project.cleanup, data.cleanup);
  fake = await startFakeBalenaBuilder(script);
  const session = balenaSession({
    dataDir: data.path,
    project: await composeProject(project.path),
    endpoints: [{ region: 'eu', url: fake.url }],
    token: TOKEN,
    build: { fleet: 'myorg/myfleet' },
    ...(typeof overrides === 'function' ? overrides(fake.url) : overrides),
  });
  const run: Run = { session, events: [], lines: [] };
  session.on('event', (event) => run.events.push(event));
  session.on('line', (line) => run.lines.push({ taskId: line.taskId, text: line.text }));
  return { ...run, fake, projectPath: project.path, dataDir: data.path };
}

/** The reasons of the moves to another region, once per move (the first task's events). */
function moves(events: SlipwayEvent[]): string[] {
  return events
    .filter((event) => event.type === 'task.region' && event.taskId === 'main')
    .slice(1)
    .map((event) => (event as { reason: string }).reason);
}

function firstBuild(builder: FakeBalenaBuilder) {
  const [build] = builder.builds;
  if (!build) throw new Error('the fake builder got no build request');
  return build;
}

async function spooled(session: BuildSession, logId: string) {
  return readLines(session.directory, logId, 0, 1000);
}

describe('a push to the (fake) balena builder', () => {
  it('sends the request exactly as the builder expects it, with the whole project under balena’s rules', async () => {
    const { session, fake } = await setUp(successScript);
    const build = await session.run();
    expect(build.status).toBe('succeeded');
    expect(fake.builds).toHaveLength(1);
    const request = firstBuild(fake);
    expect(request.path).toBe('/v3/build');
    expect(request.query).toEqual({
      slug: 'myorg/myfleet',
      dockerfilePath: '',
      emulated: 'false',
      nocache: 'false',
      headless: 'false',
      isdraft: 'false',
    });
    expect(request.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request.headers['content-encoding']).toBe('gzip');
    const files = request.files.map((file) => file.replace(/\/$/, '')).sort();
    expect(files).toEqual(
      [
        '.',
        '.balena',
        '.balena/balena.yml',
        '.dockerignore',
        'docker-compose.yml',
        'main',
        'main/Dockerfile',
        'main/app.txt',
        'web',
        'web/Dockerfile',
        'web/Dockerfile.template',
      ].sort(),
    );
    // The exact size scanned before the upload is the size that arrived.
    expect(request.tarBytes).toBe(build.tasks[0]?.scan?.tarBytes);
  });

  it('sizes links, long names and skipped FIFOs exactly as tar-fs packs them', async () => {
    const { session, fake, projectPath } = await setUp(successScript);
    await symlink('app.txt', join(projectPath, 'main', 'app-link'));
    const deep = join(projectPath, 'main', 'a'.repeat(60), 'b'.repeat(60));
    await mkdir(deep, { recursive: true });
    await writeFile(join(deep, `${'c'.repeat(90)}.txt`), 'deep\n');
    await writeFile(join(projectPath, 'main', 'caf\u00e9.txt'), 'accent\n');
    execFileSync('mkfifo', [join(projectPath, 'main', 'pipe')]);
    const build = await session.run();
    expect(build.status).toBe('succeeded');
    const request = firstBuild(fake);
    expect(request.files).toContain('main/app-link');
    expect(request.files).toContain(`main/${'a'.repeat(60)}/${'b'.repeat(60)}/${'c'.repeat(90)}.txt`);
    expect(request.files).not.toContain('main/pipe');
    expect(request.tarBytes).toBe(build.tasks[0]?.scan?.tarBytes);
    expect((await spooled(session, BALENA_BUILD_LOG_ID)).lines[0]).toBe(
      'Slipway: skipped main/pipe (FIFO: tar cannot hold it)',
    );
  });

  it('says before the push which build options the balena builder does not take, naming key and service', async () => {
    const { session } = await setUp(successScript, { tag: 'app:1', buildArgs: { MODE: 'prod' } });
    const build = await session.run();
    expect(build.status).toBe('succeeded');
    const log = (await spooled(session, BALENA_BUILD_LOG_ID)).lines;
    expect(log.slice(0, 3)).toEqual([
      'Slipway: warning: tags (--tag) of service main, service web are not sent: this builder names its images itself',
      expect.stringMatching(/^Slipway: warning: build args \(--build-arg; .*\) of service main is not sent/),
      expect.stringMatching(/^Slipway: warning: build args .* of service web is not sent/),
    ]);
    expect(build.tasks.map((task) => task.tag)).toEqual([null, null]);
  });

  it('passes the build options in the query', async () => {
    const { session, fake } = await setUp(successScript, {
      build: { fleet: 'myorg/myfleet', dockerfilePath: 'Dockerfile.arm', emulated: true, nocache: true, draft: true },
    });
    await session.run();
    expect(fake.builds[0]?.query).toMatchObject({
      dockerfilePath: 'Dockerfile.arm',
      emulated: 'true',
      nocache: 'true',
      headless: 'false',
      isdraft: 'true',
    });
  });

  it('spools each service’s lines apart and the builder’s own output to the build log', async () => {
    const { session, lines } = await setUp(successScript);
    const build = await session.run();
    expect(build.releaseId).toBe('2468013');
    expect(build.logId).toBe(BALENA_BUILD_LOG_ID);
    expect((await spooled(session, 'main')).lines).toEqual([
      'Step 1/2 : FROM scratch',
      'Step 2/2 : COPY . /',
      'Successfully built 1a2b3c',
    ]);
    expect((await spooled(session, 'web')).lines).toEqual([
      'Step 1/2 : FROM scratch',
      'Uploading 100%',
      'Step 2/2 : COPY . /',
      'Successfully built 4d5e6f',
    ]);
    expect((await spooled(session, BALENA_BUILD_LOG_ID)).lines).toEqual([
      '[Info]     Starting build for myorg/myfleet, user me',
      '[Success]  Release successfully created!',
      '[Info]     Release: abc123 (id: 2468013)',
    ]);
    expect(lines.filter((line) => line.taskId === 'web').map((line) => line.text)).toContain('Uploading 100%');
    expect(build.tasks.map((task) => [task.task.id, task.state.phase, task.logLines])).toEqual([
      ['main', 'done', 3],
      ['web', 'done', 4],
    ]);
    const record = await readFile(join(session.directory, 'build.json'), 'utf8');
    expect(JSON.parse(record)).toMatchObject({ status: 'succeeded', releaseId: '2468013', target: { kind: 'balena' } });
  });

  it('reports exact upload progress: tar bytes against the exact total, gzip bytes as they go', async () => {
    const { session, events, fake } = await setUp(successScript);
    const build = await session.run();
    const uploads = events.flatMap((event) =>
      event.type === 'task.state' && event.taskId === 'main' && event.state.phase === 'uploading' ? [event.state] : [],
    ) as Extract<TaskState, { phase: 'uploading' }>[];
    expect(uploads.length).toBeGreaterThanOrEqual(2);
    const last = uploads.at(-1) as Extract<TaskState, { phase: 'uploading' }>;
    expect(last.bytesTotal).toBe(build.tasks[0]?.scan?.tarBytes);
    expect(last.bytesSent).toBe(last.bytesTotal);
    expect(last.compressedBytesSent).toBe(fake.builds[0]?.compressedBytes);
    const phases = events.flatMap((event) =>
      event.type === 'task.state' && event.taskId === 'main' ? [event.state.phase] : [],
    );
    expect(phases.indexOf('uploading')).toBeLessThan(phases.indexOf('building'));
    expect(phases.at(-1)).toBe('done');
  });

  it('shows every task from the start, before a byte is uploaded', async () => {
    const { session, events } = await setUp(successScript);
    await session.run();
    const started = events[0];
    expect(started?.type).toBe('build.started');
    if (started?.type !== 'build.started') return;
    expect(started.build.tasks.map((task) => task.task.service)).toEqual(['main', 'web']);
  });

  it('never writes the token into the record, the logs or the events', async () => {
    const { session, events, lines } = await setUp(successScript);
    await session.run();
    const files = ['build.json', 'main.log', 'web.log', `${BALENA_BUILD_LOG_ID}.log`];
    for (const file of files) expect(await readFile(join(session.directory, file), 'utf8')).not.toContain(TOKEN);
    expect(JSON.stringify(events)).not.toContain(TOKEN);
    expect(JSON.stringify(lines)).not.toContain(TOKEN);
  });

  it('fails the service whose line says isError, and the build with the builder’s error', async () => {
    const { session } = await setUp({
      steps: [
        { message: { type: 'metadata', resource: 'buildLogId', value: '555' } },
        { message: { message: '[main]     Step 1/2 : FROM scratch' } },
        { message: { message: '[web]      Step 1/2 : FROM scratch' } },
        { message: { message: '[main]     exit status 3', isError: true } },
        { message: { message: '[Error]    Some services failed to build:', isError: true } },
        { message: { message: '[Error]      Service: main' } },
      ],
    });
    const build = await session.run();
    expect(build.status).toBe('failed');
    expect(build.error).toMatchObject({ code: 'E_BUILD_FAILED', message: '[Error]    Some services failed to build:' });
    const [main, web] = build.tasks;
    expect(main?.state).toMatchObject({
      phase: 'failed',
      error: { code: 'E_BUILD_FAILED', message: 'main: exit status 3' },
    });
    expect(web?.state).toMatchObject({ phase: 'failed', error: { code: 'E_BUILD_FAILED' } });
    const mainLog = await spooled(session, 'main');
    expect(mainLog.lines.at(-1)).toBe('exit status 3');
    expect(mainLog.flags.at(-1)).toBe(LineFlag.error);
    const buildLog = await spooled(session, BALENA_BUILD_LOG_ID);
    expect(buildLog.lines).toContain('[Error]      Service: main');
    expect(buildLog.lines.at(-1)).toContain('E_BUILD_FAILED');
  });

  it('fails with E_BUILDER_PROTOCOL when the connection is reset mid-build, keeping what came before', async () => {
    const { session } = await setUp({
      steps: [
        { message: { message: '[main]     Step 1/2 : FROM scratch' } },
        { message: { message: '[web]      Pulling 30%', replace: true } },
        { reset: true },
      ],
    });
    const build = await session.run();
    expect(build.status).toBe('failed');
    expect(build.error?.code).toBe('E_BUILDER_PROTOCOL');
    expect(build.error?.message).toContain('127.0.0.1');
    expect((await spooled(session, 'main')).lines).toEqual(['Step 1/2 : FROM scratch']);
    expect((await spooled(session, 'web')).lines).toEqual(['Pulling 30%']);
    expect(build.tasks.every((task) => task.state.phase === 'failed')).toBe(true);
  });

  it('does not take an answer that ends before the array is closed for a finished build', async () => {
    const { session } = await setUp({
      steps: [
        { message: { message: '[main]     Step 1/2 : FROM scratch' } },
        { raw: ',{"message":"[main] ha' },
        { end: true },
      ],
    });
    const build = await session.run();
    expect(build.status).toBe('failed');
    expect(build.error?.code).toBe('E_BUILDER_PROTOCOL');
    expect(build.error?.message).toContain('ended its answer before the build finished');
    expect((await spooled(session, 'main')).lines).toEqual(['Step 1/2 : FROM scratch']);
    const buildLog = await spooled(session, BALENA_BUILD_LOG_ID);
    expect(buildLog.lines[0]).toBe('{"message":"[main] ha');
    expect(buildLog.flags[0]).toBe(LineFlag.invalid);
  });

  it('fails with E_UPLOAD_RESET, naming the builder, when the connection is reset during the upload', async () => {
    const { session, projectPath } = await setUp({ resetUploadAfterBytes: 64 * 1024 });
    await writeFile(join(projectPath, 'main', 'noise.bin'), randomBytes(4 << 20));
    const build = await session.run();
    expect(build.status).toBe('failed');
    expect(build.error?.code).toBe('E_UPLOAD_RESET');
    expect(build.error?.message).toContain('127.0.0.1');
    expect(build.tasks.every((task) => task.state.phase === 'failed')).toBe(true);
  });

  it('moves to the next region when the first resets the upload', async () => {
    const second = await startFakeBalenaBuilder(successScript);
    cleanups.push(second.close);
    const { session, projectPath, fake, events } = await setUp({ resetUploadAfterBytes: 64 * 1024 }, (fakeUrl) => ({
      endpoints: [
        { region: 'us', url: fakeUrl },
        { region: 'eu', url: second.url },
      ],
    }));
    await writeFile(join(projectPath, 'main', 'noise.bin'), randomBytes(4 << 20));
    const build = await session.run();
    expect(build.status).toBe('succeeded');
    expect(build.tasks.map((task) => task.region)).toEqual(['eu', 'eu']);
    expect(moves(events)).toEqual([expect.stringMatching(/^failover from us: (ECONNRESET|EPIPE|E_UPLOAD_RESET)$/)]);
    expect(fake.builds[0]?.aborted).toBe(true);
    expect(second.builds[0]?.tarBytes).toBe(build.tasks[0]?.scan?.tarBytes);
  });

  it('moves to the next region when the first answers 5xx before the build started', async () => {
    const second = await startFakeBalenaBuilder(successScript);
    cleanups.push(second.close);
    const { session, events } = await setUp({ reject: { status: 503, body: 'Service Unavailable' } }, (fakeUrl) => ({
      endpoints: [
        { region: 'us', url: fakeUrl },
        { region: 'eu', url: second.url },
      ],
    }));
    const build = await session.run();
    expect(build.status).toBe('succeeded');
    expect(build.tasks.map((task) => task.region)).toEqual(['eu', 'eu']);
    expect(moves(events)).toEqual(['failover from us: HTTP 503']);
    expect((await spooled(session, BALENA_BUILD_LOG_ID)).lines[0]).toContain('503: Service Unavailable');
  });

  it('reports the builder’s refusal when it answers before reading the whole upload, without hanging', async () => {
    const { session, projectPath } = await setUp({
      answerBeforeUpload: true,
      steps: [{ message: { message: '[Error]    Fleet myorg/myfleet not found', isError: true } }],
    });
    await writeFile(join(projectPath, 'main', 'noise.bin'), randomBytes(16 << 20));
    const build = await session.run();
    expect(build.status).toBe('failed');
    expect(build.error, JSON.stringify(build.error)).toMatchObject({
      code: 'E_BUILD_FAILED',
      message: '[Error]    Fleet myorg/myfleet not found',
    });
  });

  it('refuses with E_BUILDER_UNAUTHORIZED and a hint when the builder says 401', async () => {
    const { session } = await setUp({ reject: { status: 401, body: 'Unauthorized' } });
    const build = await session.run();
    expect(build.status).toBe('failed');
    expect(build.error?.code).toBe('E_BUILDER_UNAUTHORIZED');
    expect(build.error?.hint).toContain('BALENA_TOKEN');
    expect(build.error?.message).toContain('401: Unauthorized');
    expect(build.error?.message).not.toContain(TOKEN);
    expect(build.tasks.every((task) => task.state.phase === 'failed')).toBe(true);
  });

  it('refuses with E_BUILDER_REJECTED, quoting the builder, when it says 500', async () => {
    const { session } = await setUp({ reject: { status: 500, body: '<html><body>Internal error</body></html>' } });
    const build = await session.run();
    expect(build.error?.code).toBe('E_BUILDER_REJECTED');
    expect(build.error?.message).toContain('500: <html><body>Internal error</body></html>');
  });

  it('detached: takes the headless answer’s release id and returns at once', async () => {
    const { session, fake } = await setUp(
      { headless: { started: true, releaseId: '1357', message: 'Build has been started' } },
      { build: { fleet: 'myorg/myfleet', headless: true } },
    );
    const build = await session.run();
    expect(fake.builds[0]?.query.headless).toBe('true');
    expect(build.status).toBe('succeeded');
    expect(build.releaseId).toBe('1357');
    const log = await spooled(session, BALENA_BUILD_LOG_ID);
    expect(log.lines[0]).toBe('Build has been started');
    expect(log.lines.at(-1)).toContain('release 1357');
  });

  it('detached: fails when the builder did not start', async () => {
    const { session } = await setUp(
      { headless: { started: false, error: 'Forbidden', message: 'You cannot push to this fleet' } },
      { build: { fleet: 'myorg/myfleet', headless: true } },
    );
    const build = await session.run();
    expect(build.status).toBe('failed');
    expect(build.error?.message).toContain('You cannot push to this fleet');
  });

  it('sends the registry secrets as .balena/registry-secrets.json, in place of the project’s own', async () => {
    const secrets = await tempDir('slipway-secrets-');
    cleanups.push(secrets.cleanup);
    const secretsFile = join(secrets.path, 'secrets.json');
    await writeFile(secretsFile, '{"registry.example.com":{"username":"u","password":"p"}}');
    const { session, fake, projectPath } = await setUp(successScript, { registrySecretsFile: secretsFile });
    await writeFile(join(projectPath, '.balena', 'registry-secrets.json'), '{"stale":true}');
    const build = await session.run();
    expect(build.status).toBe('succeeded');
    const request = firstBuild(fake);
    expect(request.files.filter((file) => file === '.balena/registry-secrets.json')).toHaveLength(1);
    expect(request.smallFiles['.balena/registry-secrets.json']).toBe(
      '{"registry.example.com":{"username":"u","password":"p"}}',
    );
    expect(request.tarBytes).toBe(build.tasks[0]?.scan?.tarBytes);
  });

  it('leaves Slipway’s own data folder out when it lies inside the project', async () => {
    const project = await tempDir('slipway-balena-project-');
    cleanups.push(project.cleanup);
    fake = await startFakeBalenaBuilder(successScript);
    const session = balenaSession({
      dataDir: join(project.path, 'web', '.slipway'),
      project: await composeProject(project.path),
      endpoints: [{ region: 'eu', url: fake.url }],
      token: TOKEN,
      build: { fleet: 'myorg/myfleet' },
    });
    const build = await session.run();
    expect(build.status).toBe('succeeded');
    expect(fake.builds[0]?.files.some((file) => file.includes('.slipway'))).toBe(false);
    expect(fake.builds[0]?.tarBytes).toBe(build.tasks[0]?.scan?.tarBytes);
  });

  it('moves to the next region when the first cannot be reached, and says why', async () => {
    const { session, fake, events } = await setUp(successScript, (fakeUrl) => ({
      endpoints: [
        { region: 'down', url: 'http://127.0.0.1:9' },
        { region: 'eu', url: fakeUrl },
      ],
    }));
    const build = await session.run();
    expect(build.status).toBe('succeeded');
    expect(build.tasks.map((task) => task.region)).toEqual(['eu', 'eu']);
    expect(moves(events)).toEqual(['failover from down: ECONNREFUSED']);
    expect(fake.builds).toHaveLength(1);
    const log = await spooled(session, BALENA_BUILD_LOG_ID);
    expect(log.lines[1]).toBe('Slipway: failover from down: ECONNREFUSED; trying eu');
  });
});

describe('cancelling a push', () => {
  const hangingScript = (patchStatus?: number): FakeBalenaScript => ({
    steps: [
      { message: { type: 'metadata', resource: 'buildLogId', value: '97531' } },
      { message: { message: '[main]     Step 1/2 : FROM scratch' } },
      { hang: true },
    ],
    patchStatus,
  });

  it('drops the stream and marks the known release cancelled through the API', async () => {
    const { session, fake } = await setUp(hangingScript());
    session.on('line', (line) => {
      if (line.text.startsWith('Step 1/2')) session.cancel();
    });
    const build = await session.run();
    expect(build.status).toBe('cancelled');
    expect(build.error?.code).toBe('E_CANCELLED');
    expect(build.tasks.every((task) => task.state.phase === 'cancelled')).toBe(true);
    expect(fake.patches).toEqual([
      {
        path: '/v7/release(97531)',
        filter: "status ne 'success'",
        authorization: `Bearer ${TOKEN}`,
        body: { status: 'cancelled', end_timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
      },
    ]);
    expect((await spooled(session, BALENA_BUILD_LOG_ID)).lines).toContain('Slipway: release 97531 marked cancelled');
  });

  it('reports when the API refuses to mark the release cancelled', async () => {
    const { session, fake } = await setUp(hangingScript(403));
    session.on('line', (line) => {
      if (line.text.startsWith('Step 1/2')) session.cancel();
    });
    const build = await session.run();
    expect(build.status).toBe('cancelled');
    expect(fake.patches).toHaveLength(1);
    expect(build.error?.code).toBe('E_BUILDER_REJECTED');
    expect(build.error?.message).toContain('Release 97531 could not be marked cancelled');
    expect(build.error?.message).toContain('403');
    const log = await spooled(session, BALENA_BUILD_LOG_ID);
    expect(log.flags.at(-1)).toBe(LineFlag.error);
  });

  it('cancels during the upload without a release to mark', async () => {
    const { session, fake } = await setUp(hangingScript());
    session.on('event', (event) => {
      if (event.type === 'task.state' && event.state.phase === 'uploading') session.cancel();
    });
    const build = await session.run();
    expect(build.status).toBe('cancelled');
    expect(fake.patches).toEqual([]);
    expect(build.tasks.every((task) => task.state.phase === 'cancelled')).toBe(true);
  });
});
