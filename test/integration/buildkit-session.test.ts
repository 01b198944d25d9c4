import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, readdir, readFile, realpath, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/core/engine';
import { readLines } from '../../src/core/logs/reader';
import type { SlipwayEvent } from '../../src/shared/contract';
import type { Build, TaskState } from '../../src/shared/domain';
import { runCli } from '../support/cli';
import { leakedSince, openDescriptors } from '../support/descriptors';
import { dockerUrl } from '../support/engine';
import { startSessionRefusingProxy } from '../support/fake-session-refusing-proxy';
import { BUSYBOX, tempDir } from '../support/fixtures';

const docker = dockerUrl();
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function temp(prefix?: string) {
  const dir = await tempDir(prefix);
  cleanups.push(dir.cleanup);
  return dir.path;
}

const MiB = 1024 * 1024;

/** Runs `slipway build --json` on the private Docker Engine and reads its events, record and log. */
async function build(dir: string, data: string, args: string[] = [], env?: NodeJS.ProcessEnv) {
  const run = await runCli(
    [
      'build',
      dir,
      '--json',
      '--data-dir',
      data,
      ...(args.includes('--builder') ? [] : ['--builder', docker]),
      '--network',
      'none',
      ...args,
    ],
    {
      env,
    },
  );
  const events = run.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as SlipwayEvent & { text?: string });
  const started = events.find((event) => event.type === 'build.started') as { build: Build } | undefined;
  const id = started?.build.id as string;
  const directory = join(data, 'builds', id);
  const recorded = id ? (JSON.parse(await readFile(join(directory, 'build.json'), 'utf8')) as Build) : null;
  const log = id ? await readLines(directory, 'main', 0, 10_000) : { lines: [], flags: [] };
  return { run, events, build: recorded, log: log.lines.join('\n'), directory };
}

/** The task's final state, as the CLI's events gave it. */
function finalState(events: SlipwayEvent[]): TaskState | undefined {
  const states = events.filter((event) => event.type === 'task.state') as { state: TaskState }[];
  return states[states.length - 1]?.state;
}

describe.skipIf(!docker)(
  'BuildKit session on the real Docker Engine (RUN steps with --network none: no bridge here)',
  () => {
    it('sends the whole 64 MiB context the first time, and only the changed 1 KiB file (plus the listing) the second time', async () => {
      const dir = await temp('slipway-session-incremental-');
      await writeFile(join(dir, 'busybox'), await readFile(BUSYBOX), { mode: 0o755 });
      for (let index = 0; index < 64; index++) await writeFile(join(dir, `blob-${index}.bin`), randomBytes(MiB));
      await writeFile(join(dir, 'changed.txt'), randomBytes(512).toString('hex'));
      await writeFile(
        join(dir, 'Dockerfile'),
        'FROM scratch\nCOPY . /ctx\nRUN ["/ctx/busybox","sha256sum","/ctx/changed.txt"]\n',
      );
      const data = await temp();

      const first = await build(dir, data);
      expect(first.run.code, first.run.stderr + first.log).toBe(0);
      const firstDone = finalState(first.events);
      expect(firstDone?.phase).toBe('done');
      expect(firstDone?.phase === 'done' && firstDone.bytesSent).toBeGreaterThan(64 * MiB);
      // What the tar body would send, and did send before the session: the whole context.
      expect(first.build?.tasks[0]?.scan?.tarBytes).toBeGreaterThan(64 * MiB);

      const changed = randomBytes(512).toString('hex');
      await writeFile(join(dir, 'changed.txt'), changed);
      const second = await build(dir, data);
      expect(second.run.code, second.run.stderr + second.log).toBe(0);
      const secondDone = finalState(second.events);
      expect(secondDone?.phase).toBe('done');
      const sent = secondDone?.phase === 'done' ? (secondDone.bytesSent ?? Infinity) : Infinity;
      expect(sent).toBeGreaterThan(1024);
      expect(sent).toBeLessThan(2 * MiB);
      // The RUN step read the new content: the file that changed did reach the engine.
      const hash = createHash('sha256').update(changed).digest('hex');
      expect(second.log).toContain(`${hash}  /ctx/changed.txt`);
      expect(second.log).toMatch(/Slipway: .* of the context sent through BuildKit's session/);
      expect(second.run.stdout).toContain('"bytesSent"');
    });

    it('falls back to the tar body, and says so in the log, where the engine refuses the session (FAKE engine)', async () => {
      const dir = await temp('slipway-session-refused-');
      await writeFile(join(dir, 'busybox'), await readFile(BUSYBOX), { mode: 0o755 });
      await writeFile(join(dir, 'note.txt'), 'sent as a tar\n');
      await writeFile(
        join(dir, 'Dockerfile'),
        'FROM scratch\nCOPY . /ctx\nRUN ["/ctx/busybox","cat","/ctx/note.txt"]\n',
      );
      const proxy = await startSessionRefusingProxy(docker.replace('unix://', ''), join(await temp(), 'fake.sock'));
      cleanups.push(proxy.stop);
      const result = await build(dir, await temp(), ['--builder', proxy.url, '--builder-version', '2']);
      expect(result.run.code, result.run.stderr + result.log).toBe(0);
      expect(proxy.refused()).toBe(1);
      expect(result.log).toMatch(
        /does not open BuildKit sessions \(POST \/session\): the context goes as a tar body instead/,
      );
      expect(result.log).toContain('sent as a tar');
      const done = finalState(result.events);
      // The whole tar went, and bytesSent says so.
      expect(done?.phase === 'done' && done.bytesSent).toBe(result.build?.tasks[0]?.scan?.tarBytes);
    });

    it('cancel in the middle of the transfer closes the session and every stream, and leaks no descriptor', async () => {
      const dir = await temp('slipway-session-cancel-');
      await writeFile(join(dir, 'busybox'), await readFile(BUSYBOX), { mode: 0o755 });
      for (let index = 0; index < 48; index++) await writeFile(join(dir, `blob-${index}.bin`), randomBytes(4 * MiB));
      await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY . /ctx\n');
      const data = await temp();
      const before = await openDescriptors();
      const engine = new Engine({ dataDir: data, mode: 'browser', version: 'test', builderUrl: docker });
      await engine.call('settings.update', {
        targets: [
          { name: 'docker', kind: 'docker', endpoints: [{ region: 'local', url: docker }], builderVersion: '2' },
        ],
        defaultTarget: 'docker',
      });
      let midTransfer: () => void = () => undefined;
      const transferring = new Promise<void>((resolve) => {
        midTransfer = resolve;
      });
      engine.on('event', (event) => {
        if (event.type !== 'task.state') return;
        const { state } = event;
        // The task shows the transfer as uploading until BuildKit's first step, then as building.
        if ((state.phase === 'uploading' || state.phase === 'building') && (state.bytesSent ?? 0) > 8 * MiB) {
          midTransfer();
        }
      });
      const opened = await engine.call('project.open', { path: dir });
      const { buildId } = await engine.call('build.start', { projectId: opened.id, network: 'none' });
      await transferring;
      expect(await engine.call('build.cancel', { buildId })).toEqual({ cancelled: true });
      await engine.close();
      const recorded = await engine.call('build.get', { buildId });
      expect(recorded.status).toBe('cancelled');
      expect(recorded.tasks[0]?.state.phase).toBe('cancelled');
      expect(await leakedSince(before)).toEqual([]);
    });
  },
);

/** Files of the host copied into a context under `root/`, at their own paths (a dynamic binary and its libraries). */
async function copyIntoRoot(context: string, binary: string): Promise<void> {
  const ldd = spawnSync('ldd', [binary], { encoding: 'utf8' });
  const libraries = [...ldd.stdout.matchAll(/(\/\S+) \(0x/g)].map((match) => match[1] as string);
  for (const path of [binary, ...libraries]) {
    await mkdir(join(context, 'root', dirname(path)), { recursive: true });
    await copyFile(await realpath(path), join(context, 'root', path));
    await chmod(join(context, 'root', path), 0o755);
  }
}

/** Every file under a folder, with its content, for searching what a build left on disk. */
async function allText(folder: string): Promise<string> {
  let text = '';
  for (const entry of await readdir(folder, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) text += await readFile(join(entry.parentPath, entry.name), 'latin1');
  }
  return text;
}

describe.skipIf(!docker)('Secrets and SSH through the BuildKit session on the real Docker Engine', () => {
  it('a RUN --mount=type=secret step reads secrets given by file and by variable, which appear nowhere Slipway writes', async () => {
    const dir = await temp('slipway-session-secret-');
    const fromFile = randomBytes(16).toString('hex');
    const fromEnv = randomBytes(16).toString('hex');
    const secretFile = join(await temp(), 'token');
    await writeFile(secretFile, fromFile, { mode: 0o600 });
    await writeFile(join(dir, 'busybox'), await readFile(BUSYBOX), { mode: 0o755 });
    await writeFile(
      join(dir, 'Dockerfile'),
      [
        'FROM scratch',
        'COPY busybox /bin/busybox',
        'RUN --mount=type=secret,id=token --mount=type=secret,id=other ["/bin/busybox","sha256sum","/run/secrets/token","/run/secrets/other"]',
        '',
      ].join('\n'),
    );
    const data = await temp();
    const result = await build(
      dir,
      data,
      ['--secret', `id=token,src=${secretFile}`, '--secret', 'id=other,env=SLIPWAY_TEST_SECRET'],
      {
        SLIPWAY_TEST_SECRET: fromEnv,
      },
    );
    expect(result.run.code, result.run.stderr + result.log).toBe(0);
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    expect(result.log).toContain(`${sha(fromFile)}  /run/secrets/token`);
    expect(result.log).toContain(`${sha(fromEnv)}  /run/secrets/other`);
    const written = await allText(data);
    for (const secret of [fromFile, fromEnv]) {
      expect(written).not.toContain(secret);
      expect(result.run.stdout + result.run.stderr).not.toContain(secret);
    }
    // The record keeps which secrets the task had, never their values.
    expect(result.build?.tasks[0]?.task.secrets).toEqual([
      { id: 'token', file: secretFile },
      { id: 'other', env: 'SLIPWAY_TEST_SECRET' },
    ]);
  });

  it('a secret the step needs and the build was not given fails the build with the step named', async () => {
    const dir = await temp('slipway-session-nosecret-');
    await writeFile(join(dir, 'busybox'), await readFile(BUSYBOX), { mode: 0o755 });
    await writeFile(
      join(dir, 'Dockerfile'),
      'FROM scratch\nCOPY busybox /bin/busybox\nRUN --mount=type=secret,id=missing,required=true ["/bin/busybox","true"]\n',
    );
    const result = await build(dir, await temp());
    expect(result.run.code).toBe(1);
    expect(result.build?.tasks[0]?.state.phase === 'failed' && result.build.tasks[0].state.error.code).toBe(
      'E_BUILD_FAILED',
    );
    expect(result.log).toMatch(/secret missing/i);
  });

  it('--ssh default forwards the ssh-agent of SSH_AUTH_SOCK to a RUN --mount=type=ssh step, which lists its key', async () => {
    const dir = await temp('slipway-session-ssh-');
    const keys = await temp('slipway-ssh-');
    const socket = join(keys, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    cleanups.push(async () => {
      agent.kill();
    });
    const key = join(keys, 'id_ed25519');
    expect(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'slipway-test', '-f', key]).status).toBe(0);
    for (let tries = 0; tries < 50 && spawnSync('test', ['-S', socket]).status !== 0; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(spawnSync('ssh-add', [key], { env: { ...process.env, SSH_AUTH_SOCK: socket } }).status).toBe(0);
    const fingerprint = (
      spawnSync('ssh-keygen', ['-lf', `${key}.pub`], { encoding: 'utf8' }).stdout.split(' ')[1] ?? ''
    ).trim();
    expect(fingerprint).toMatch(/^SHA256:/);
    await copyIntoRoot(dir, '/usr/bin/ssh-add');
    await writeFile(
      join(dir, 'Dockerfile'),
      'FROM scratch\nCOPY root/ /\nRUN --mount=type=ssh ["/usr/bin/ssh-add","-l"]\n',
    );
    const result = await build(dir, await temp(), ['--ssh', 'default'], { SSH_AUTH_SOCK: socket });
    expect(result.run.code, result.run.stderr + result.log).toBe(0);
    expect(result.log).toContain(fingerprint);
    expect(result.log).toContain('slipway-test');
  });
});
