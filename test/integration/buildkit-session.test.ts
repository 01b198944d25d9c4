import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/core/engine';
import { readLines } from '../../src/core/logs/reader';
import type { SlipwayEvent } from '../../src/shared/contract';
import type { Build, TaskState } from '../../src/shared/domain';
import { runCli } from '../support/cli';
import { leakedSince, openDescriptors } from '../support/descriptors';
import { dockerUrl } from '../support/engine';
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
    ['build', dir, '--json', '--data-dir', data, '--builder', docker, '--network', 'none', ...args],
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
        if (event.type === 'task.state' && event.state.phase === 'building' && (event.state.bytesSent ?? 0) > 8 * MiB) {
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
