import type { TestProject } from 'vitest/node';
import { dockerdMissing, startDockerd } from './dockerd';
import type { EngineService } from './engine-service';
import { buildPackWorker } from './pack-worker';
import { podmanMissing, startPodman } from './podman';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The private Podman engine's URL, or '' when it cannot run here. */
    engineUrl: string;
    /** Why the engine tests are skipped, when they are. */
    engineMissing: string;
    /** The private Docker Engine's URL, or '' when it cannot run here. */
    dockerUrl: string;
    /** Why the Docker Engine tests are skipped, when they are. */
    dockerMissing: string;
  }
}

/** Starts one engine for the whole run and provides its URL, or says why it cannot run; in CI that fails the run. */
async function setUpEngine(
  project: TestProject,
  name: string,
  keys: { url: 'engineUrl' | 'dockerUrl'; missing: 'engineMissing' | 'dockerMissing' },
  missing: string | null,
  start: () => Promise<EngineService>,
): Promise<EngineService | null> {
  if (missing) {
    if (process.env.CI) throw new Error(`The ${name} tests need it, and CI must run them: ${missing}`);
    console.warn(`Skipping ${name} tests: ${missing}`);
    project.provide(keys.url, '');
    project.provide(keys.missing, missing);
    return null;
  }
  const service = await start();
  project.provide(keys.url, service.url);
  project.provide(keys.missing, '');
  return service;
}

/** Starts a private Podman and a private Docker Engine for the whole run. */
export default async function setup(project: TestProject) {
  await buildPackWorker();
  const started = await Promise.allSettled([
    setUpEngine(project, 'Podman engine', { url: 'engineUrl', missing: 'engineMissing' }, podmanMissing(), startPodman),
    setUpEngine(
      project,
      'Docker Engine',
      { url: 'dockerUrl', missing: 'dockerMissing' },
      dockerdMissing(),
      startDockerd,
    ),
  ]);
  const services = started.map((result) => (result.status === 'fulfilled' ? result.value : null));
  const stopAll = () => Promise.all(services.map((service) => service?.stop())).then(() => undefined);
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    // One engine failed to start: the other must not outlive the run.
    await stopAll();
    throw failed.reason;
  }
  return stopAll;
}
