import { chmod, mkdir, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openBalenaProject } from '../../src/core/builders/balena/project';
import { runCli } from '../support/cli';
import { type FakeBalenaBuilder, type FakeBalenaScript, startFakeBalenaBuilder } from '../support/fake-balena-builder';
import { tempDir } from '../support/fixtures';

const TOKEN = 'cli-tok-5e7d1a-never-printed';

const script: FakeBalenaScript = {
  steps: [
    { message: { message: '[Info]     Starting build for myorg/myfleet, user me' } },
    { message: { type: 'metadata', resource: 'buildLogId', value: '8642' } },
    { message: { message: '[main]     Step 1/2 : FROM scratch' } },
    { message: { message: '[main]     Pulling 50%', replace: true } },
    { message: { message: '[main]     Pulling 100%', replace: true } },
    { message: { message: '[main]     Step 2/2 : COPY . /' } },
    { message: { message: '[Success]  Release successfully created!' } },
  ],
};

let fake: FakeBalenaBuilder | null = null;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await fake?.close();
  fake = null;
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function project() {
  const dir = await tempDir('slipway-balena-cli-');
  const data = await tempDir('slipway-balena-data-');
  cleanups.push(dir.cleanup, data.cleanup);
  await writeFile(join(dir.path, 'Dockerfile'), 'FROM scratch\nCOPY . /\n');
  await writeFile(join(dir.path, 'hello.txt'), 'hello\n');
  return { path: dir.path, dataDir: data.path };
}

async function onlyBuild(dataDir: string) {
  const [buildId] = await readdir(join(dataDir, 'builds'));
  return { buildId: buildId as string, directory: join(dataDir, 'builds', buildId as string) };
}

describe('slipway build --balena (against a FAKE builder)', () => {
  it('pushes the project, prints each line with its service, and spools each service apart', async () => {
    const { path, dataDir } = await project();
    fake = await startFakeBalenaBuilder(script);
    const run = await runCli(
      ['build', path, '--balena', 'myorg/myfleet', '--builder', `eu=${fake.url}`, '--data-dir', dataDir],
      { env: { BALENA_TOKEN: TOKEN } },
    );
    expect(run.stderr).toContain('Build succeeded');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('[main] Step 1/2 : FROM scratch');
    expect(run.stdout).toContain('[main] Pulling 100%');
    expect(run.stdout).not.toContain('Pulling 50%');
    expect(run.stdout).toContain('[Success]  Release successfully created!');
    expect(run.stderr).toContain('Release 8642');
    expect(run.stdout + run.stderr).not.toContain(TOKEN);
    expect(fake.builds[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(fake.builds[0]?.files).toContain('hello.txt');
    const { directory } = await onlyBuild(dataDir);
    expect(await readFile(join(directory, 'main.log'), 'utf8')).toBe(
      'Step 1/2 : FROM scratch\nPulling 100%\nStep 2/2 : COPY . /\n',
    );
    expect(await readFile(join(directory, '_build.log'), 'utf8')).toContain('[Info]     Starting build');
    const record = JSON.parse(await readFile(join(directory, 'build.json'), 'utf8'));
    expect(record).toMatchObject({
      status: 'succeeded',
      releaseId: '8642',
      target: { kind: 'balena', fleet: 'myorg/myfleet' },
    });
    expect(JSON.stringify(record)).not.toContain(TOKEN);
  });

  it('--detached returns once the builder has started the release', async () => {
    const { path, dataDir } = await project();
    fake = await startFakeBalenaBuilder({ headless: { started: true, releaseId: '9753', message: 'Build started' } });
    const run = await runCli(
      ['build', path, '--balena', 'myorg/myfleet', '--builder', `eu=${fake.url}`, '--detached', '--data-dir', dataDir],
      { env: { BALENA_TOKEN: TOKEN } },
    );
    expect(run.code).toBe(0);
    expect(fake.builds[0]?.query.headless).toBe('true');
    expect(run.stderr).toContain('Release 9753');
  });

  it('refuses a token file others can read, with exit 2 and nothing sent', async () => {
    const { path, dataDir } = await project();
    const tokenFile = join(dataDir, 'token');
    await writeFile(tokenFile, TOKEN);
    await chmod(tokenFile, 0o644);
    fake = await startFakeBalenaBuilder(script);
    const run = await runCli(
      ['build', path, '--balena', 'myorg/myfleet', '--builder', `eu=${fake.url}`, '--token-file', tokenFile],
      { env: { BALENA_TOKEN: '', XDG_DATA_HOME: dataDir } },
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('E_TOKEN_INSECURE');
    expect(run.stderr).toContain(tokenFile);
    expect(run.stdout + run.stderr).not.toContain(TOKEN);
    expect(fake.builds).toEqual([]);
  });

  it('Ctrl-C cancels the push and marks the release cancelled on the API', async () => {
    const { path, dataDir } = await project();
    fake = await startFakeBalenaBuilder({
      steps: [
        { message: { type: 'metadata', resource: 'buildLogId', value: '7531' } },
        { message: { message: '[main]     Step 1/2 : FROM scratch' } },
        { hang: true },
      ],
    });
    const builder = fake;
    const run = await runCli(
      ['build', path, '--balena', 'myorg/myfleet', '--builder', `eu=${fake.url}`, '--data-dir', dataDir],
      {
        env: { BALENA_TOKEN: TOKEN },
        onSpawn: (pid) => {
          // Once the service's first line is spooled, the release id (sent before it) is known: interrupt.
          let sent = false;
          const poll = setInterval(async () => {
            const log = await onlyBuild(dataDir)
              .then(({ directory }) => readFile(join(directory, 'main.log'), 'utf8'))
              .catch(() => '');
            if (sent || !log.includes('Step 1/2') || builder.builds.length === 0) return;
            sent = true;
            clearInterval(poll);
            process.kill(pid, 'SIGINT');
          }, 50);
        },
      },
    );
    expect(run.stderr).toContain('Cancelling');
    expect(run.code).toBe(130);
    expect(fake.patches).toEqual([
      {
        path: '/v7/release(7531)',
        filter: "status ne 'success'",
        authorization: `Bearer ${TOKEN}`,
        body: { status: 'cancelled', end_timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
      },
    ]);
    const { directory } = await onlyBuild(dataDir);
    expect(JSON.parse(await readFile(join(directory, 'build.json'), 'utf8')).status).toBe('cancelled');
    expect(await readFile(join(directory, '_build.log'), 'utf8')).toContain('release 7531 marked cancelled');
  });
});

/** A two-service compose project, as balena fleets are. */
async function composeProject() {
  const dir = await tempDir('slipway-balena-compose-');
  const data = await tempDir('slipway-balena-data-');
  cleanups.push(dir.cleanup, data.cleanup);
  await writeFile(
    join(dir.path, 'docker-compose.yml'),
    'services:\n  main:\n    build: ./main\n  web:\n    build: ./web\n',
  );
  for (const service of ['main', 'web']) {
    await mkdir(join(dir.path, service));
    await writeFile(join(dir.path, service, 'Dockerfile'), 'FROM scratch\nCOPY . /\n');
  }
  return { path: dir.path, dataDir: data.path };
}

// Compose detection and `slipway logs` come from other slices; until they are in, say so and skip.
const composeDetected = await (async () => {
  const probe = await tempDir('slipway-compose-probe-');
  try {
    await writeFile(join(probe.path, 'docker-compose.yml'), 'services:\n  a:\n    build: .\n');
    await writeFile(join(probe.path, 'Dockerfile'), 'FROM scratch\n');
    return (await openBalenaProject(probe.path)).composeFile !== null;
  } catch {
    return false;
  } finally {
    await probe.cleanup();
  }
})();
const logsCommand = (await runCli(['--help'])).stdout.includes('slipway logs');
if (!composeDetected)
  console.warn('Skipping the multi-service balena CLI test: this tree finds no compose services yet');
if (!logsCommand) console.warn('Not checking `slipway logs --task`: this tree has no logs command yet');

describe.skipIf(!composeDetected)('slipway build --balena with a compose project (FAKE builder)', () => {
  it('demultiplexes interleaved services into their own logs, which `slipway logs --task` shows alone', async () => {
    const { path, dataDir } = await composeProject();
    fake = await startFakeBalenaBuilder({
      steps: [
        { message: { message: '[Info]     Starting build for myorg/myfleet' } },
        { message: { type: 'metadata', resource: 'buildLogId', value: '1111' } },
        { message: { message: '[main]     Step 1/2 : FROM scratch' } },
        { message: { message: '[web]      Step 1/2 : FROM scratch' } },
        { message: { message: '[web]      Step 2/2 : COPY . /' } },
        { message: { message: '[main]     Step 2/2 : COPY . /' } },
        { message: { message: '[web]      web is built' } },
        { message: { message: '[Success]  Release successfully created!' } },
      ],
    });
    const run = await runCli(
      ['build', path, '--balena', 'myorg/myfleet', '--builder', `eu=${fake.url}`, '--data-dir', dataDir],
      { env: { BALENA_TOKEN: TOKEN } },
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('[web] web is built');
    expect(fake.builds[0]?.files).toEqual(
      expect.arrayContaining(['docker-compose.yml', 'main/Dockerfile', 'web/Dockerfile']),
    );
    const { buildId, directory } = await onlyBuild(dataDir);
    expect(await readFile(join(directory, 'web.log'), 'utf8')).toBe(
      'Step 1/2 : FROM scratch\nStep 2/2 : COPY . /\nweb is built\n',
    );
    expect(await readFile(join(directory, 'main.log'), 'utf8')).toBe('Step 1/2 : FROM scratch\nStep 2/2 : COPY . /\n');
    if (!logsCommand) return;
    const logs = await runCli(['logs', buildId, '--task', 'web', '--data-dir', dataDir]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toBe('Step 1/2 : FROM scratch\nStep 2/2 : COPY . /\nweb is built\n');
    const own = await runCli(['logs', buildId, '--task', '_build', '--data-dir', dataDir]);
    expect(own.code).toBe(0);
    expect(own.stdout).toBe('[Info]     Starting build for myorg/myfleet\n[Success]  Release successfully created!\n');
  });
});

describe('memory stays flat whatever the balena project’s size', () => {
  it('gzips and streams a 1 GiB project to a (FAKE) builder with the CLI under 200 MB of RSS', async () => {
    const { path, dataDir } = await project();
    await writeFile(join(path, 'big.bin'), '');
    await truncate(join(path, 'big.bin'), 1024 ** 3);
    fake = await startFakeBalenaBuilder(script);
    const run = await runCli(
      ['build', path, '--balena', 'myorg/myfleet', '--builder', `eu=${fake.url}`, '--data-dir', dataDir],
      {
        env: { BALENA_TOKEN: TOKEN },
      },
    );
    expect(run.code).toBe(0);
    const request = fake.builds[0];
    expect(request?.files).toContain('big.bin');
    const { directory } = await onlyBuild(dataDir);
    const record = JSON.parse(await readFile(join(directory, 'build.json'), 'utf8'));
    expect(request?.tarBytes).toBe(record.tasks[0].scan.tarBytes);
    expect(request?.tarBytes).toBeGreaterThan(1024 ** 3);
    console.log(
      `balena 1 GiB push: CLI peak RSS ${(run.peakRssBytes / 2 ** 20).toFixed(0)} MiB; ` +
        `tar ${request?.tarBytes} bytes, gzip on the wire ${request?.compressedBytes} bytes`,
    );
    expect(run.peakRssBytes).toBeGreaterThan(0);
    expect(run.peakRssBytes).toBeLessThan(200 * 1024 * 1024);
  });
});
