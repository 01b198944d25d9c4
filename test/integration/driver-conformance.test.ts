import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BalenaDriver } from '../../src/core/builders/balena/driver';
import { DockerDriver } from '../../src/core/builders/docker/driver';
import type { BuilderDriver } from '../../src/core/builders/driver';
import { BuildSession } from '../../src/core/builds/session';
import { openProject } from '../../src/core/project/detect';
import type { SlipwayEvent } from '../../src/shared/contract';
import type { Endpoint, TaskPhase } from '../../src/shared/domain';
import { leakedSince, openDescriptors } from '../support/descriptors';
import { dockerUrl, engineUrl } from '../support/engine';
import { type FakeBalenaScript, startFakeBalenaBuilder } from '../support/fake-balena-builder';
import { tempDir } from '../support/fixtures';

// Every driver goes through the same scenarios, each against its engine (or, for balena, its FAKE
// builder, which stands in for a cloud service no test can reach): success, a failing step, failover
// before the build started, and cancel while packing, uploading and building.

type Scenario = 'success' | 'failing' | 'slow';

/** A Dockerfile for each scenario; its RUN steps use exec form, for FROM scratch. */
function dockerfile(scenario: Scenario, marker: string): string {
  const run = {
    success: `echo built ${marker}`,
    failing: `echo about to fail ${marker}; exit 3`,
    slow: `echo started ${marker}; /bin/busybox sleep 20; echo finished`,
  }[scenario];
  return `FROM scratch\nCOPY busybox /bin/busybox\nCOPY noise.bin /noise.bin\nRUN ["/bin/busybox","sh","-c","${run}"]\n`;
}

const balenaScripts: Record<Scenario, FakeBalenaScript> = {
  success: {
    steps: [
      { message: { type: 'metadata', resource: 'buildLogId', value: '4242' } },
      { message: { message: '[main]     Step 1/2 : FROM scratch' } },
      { message: { message: '[main]     Successfully built 1a2b3c' } },
      { message: { message: '[Success]  Release successfully created!' } },
    ],
  },
  failing: {
    steps: [
      { message: { message: '[main]     Step 1/2 : FROM scratch' } },
      { message: { message: '[main]     exit status 3', isError: true } },
      { message: { message: '[Error]    Some services failed to build:', isError: true } },
    ],
  },
  slow: {
    steps: [{ message: { message: '[main]     Step 1/2 : FROM scratch' } }, { hang: true }],
  },
};

interface DriverCase {
  name: string;
  /** Why this driver cannot run here, or null. */
  missing: string | null;
  /** The endpoint of a builder that runs the scenario. */
  endpoint(scenario: Scenario): Promise<Endpoint>;
  driver(endpoints: Endpoint[], dataDir: string): BuilderDriver;
  /** A line of the log that shows the build itself is running (for cancel while building). */
  runningLine: RegExp;
  network?: string;
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const podman = engineUrl();
const docker = dockerUrl();

const cases: DriverCase[] = [
  {
    name: 'docker-classic on Podman',
    missing: podman ? null : 'no Podman here',
    endpoint: async () => ({ region: 'local', url: podman }),
    driver: () => new DockerDriver({ builder: 'classic', product: 'podman' }),
    runningLine: /^started slipway-conformance-/,
  },
  {
    name: 'docker-buildkit on dockerd',
    missing: docker ? null : 'no dockerd here',
    endpoint: async () => ({ region: 'local', url: docker }),
    driver: () => new DockerDriver({ builder: 'buildkit', product: 'docker' }),
    runningLine: /^#\d+ \d+\.\d{3} started slipway-conformance-/,
    network: 'none',
  },
  {
    name: 'balena on its FAKE builder',
    missing: null,
    endpoint: async (scenario) => {
      const fake = await startFakeBalenaBuilder(balenaScripts[scenario]);
      cleanups.push(fake.close);
      return { region: 'local', url: fake.url };
    },
    driver: (endpoints, dataDir) =>
      new BalenaDriver({ token: 'conformance-token', build: { fleet: 'org/fleet' }, endpoints, dataDir }),
    runningLine: /^Step 1\/2 : FROM scratch$/,
  },
];

for (const driverCase of cases) {
  describe.skipIf(driverCase.missing !== null)(`the ${driverCase.name} driver`, () => {
    if (driverCase.missing) console.warn(`Skipped the ${driverCase.name} conformance run: ${driverCase.missing}`);

    async function session(scenario: Scenario, options: { down?: boolean; noiseBytes?: number } = {}) {
      const project = await tempDir('slipway-conformance-');
      const data = await tempDir('slipway-conformance-data-');
      cleanups.push(project.cleanup, data.cleanup);
      const marker = `slipway-conformance-${randomBytes(4).toString('hex')}`;
      await writeFile(join(project.path, 'Dockerfile'), dockerfile(scenario, marker));
      await writeFile(join(project.path, 'busybox'), await readFile('/bin/busybox'), { mode: 0o755 });
      await writeFile(join(project.path, 'noise.bin'), randomBytes(options.noiseBytes ?? 1024));
      const live = await driverCase.endpoint(scenario);
      const endpoints: Endpoint[] = options.down
        ? [
            {
              region: 'down',
              url: live.url.startsWith('unix:') ? `unix://${data.path}/none.sock` : 'http://127.0.0.1:9',
            },
            { ...live, region: 'up' },
          ]
        : [live];
      const built = new BuildSession({
        dataDir: data.path,
        project: await openProject(project.path),
        target: { name: 'conformance', kind: driverCase.name.startsWith('balena') ? 'balena' : 'docker', endpoints },
        driver: driverCase.driver(endpoints, data.path),
        network: driverCase.network,
        tag: `slipway-conformance/${scenario}`,
      });
      const events: SlipwayEvent[] = [];
      const lines: string[] = [];
      built.on('event', (event) => events.push(event));
      built.on('line', (line) => lines.push(line.text));
      const phases = () =>
        events.flatMap((event) => (event.type === 'task.state' && event.taskId === 'main' ? [event.state.phase] : []));
      return { session: built, events, lines, phases };
    }

    it('builds, and records the task done', async () => {
      const run = await session('success');
      const build = await run.session.run();
      expect(build.status).toBe('succeeded');
      expect(build.tasks.map((task) => task.state.phase)).toEqual(['done']);
      expect(run.phases()).toEqual(expect.arrayContaining(['packing', 'uploading', 'building', 'done']));
    });

    it('fails a failing step with E_BUILD_FAILED and the step’s output in the log', async () => {
      const run = await session('failing');
      const build = await run.session.run();
      expect(build.status).toBe('failed');
      const state = build.tasks[0]?.state;
      expect(state?.phase === 'failed' && state.error.code).toBe('E_BUILD_FAILED');
      expect(run.lines.some((line) => /exit (status|code:?) 3/.test(line))).toBe(true);
    });

    it('moves to the next region when the first cannot be reached, before the build started', async () => {
      const run = await session('success', { down: true });
      const build = await run.session.run();
      expect(build.status).toBe('succeeded');
      expect(build.tasks[0]?.region).toBe('up');
      const moves = run.events.filter((event) => event.type === 'task.region');
      expect(moves.map((event) => (event as { region: string }).region)).toEqual(['down', 'up']);
    });

    const phasesToCancel: [string, (phase: TaskPhase, line: string | null) => boolean, TaskPhase[]][] = [
      ['packing', (phase) => phase === 'packing', ['uploading', 'building']],
      ['uploading', (phase) => phase === 'uploading', ['building']],
      ['building', (_phase, line) => line !== null && driverCase.runningLine.test(line), []],
    ];
    for (const [phaseName, when, never] of phasesToCancel) {
      it(`cancels while ${phaseName}: the task cancelled, no descriptor or socket left open`, async () => {
        const run = await session('slow', { noiseBytes: phaseName === 'uploading' ? 64 << 20 : 1024 });
        // After the FAKE builder started listening: its own socket is not the client's.
        const before = await openDescriptors();
        run.session.on('event', (event) => {
          if (event.type === 'task.state' && when(event.state.phase, null)) run.session.cancel();
        });
        run.session.on('line', (line) => {
          if (when('building', line.text)) run.session.cancel();
        });
        const build = await run.session.run();
        expect(build.status).toBe('cancelled');
        expect(build.tasks.map((task) => task.state.phase)).toEqual(['cancelled']);
        for (const phase of never) expect(run.phases()).not.toContain(phase);
        expect(await leakedSince(before)).toEqual([]);
      });
    }
  });
}
