import type { TestProject } from 'vitest/node';
import { buildPackWorker } from './pack-worker';
import { podmanMissing, startPodman } from './podman';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The private Podman engine's URL, or '' when it cannot run here. */
    engineUrl: string;
    /** Why the engine tests are skipped, when they are. */
    engineMissing: string;
  }
}

/** Starts one private Podman engine for the whole run. In CI a missing engine fails the run. */
export default async function setup(project: TestProject) {
  await buildPackWorker();
  const missing = podmanMissing();
  if (missing) {
    if (process.env.CI) throw new Error(`The engine tests need Podman, and CI must run them: ${missing}`);
    console.warn(`Skipping engine tests: ${missing}`);
    project.provide('engineUrl', '');
    project.provide('engineMissing', missing);
    return;
  }
  const podman = await startPodman();
  project.provide('engineUrl', podman.url);
  project.provide('engineMissing', '');
  return () => podman.stop();
}
