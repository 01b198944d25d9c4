import type { TestProject } from 'vitest/node';
import { dockerdMissing, startDockerd } from './dockerd';
import type { EngineService } from './engine-service';
import { buildPackWorker } from './pack-worker';
import { podmanMissing, startPodman } from './podman';
import { type RegistryService, registryMissing, startRegistryOnFreePort } from './registry';

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
    /** The private registry with a login: host (127.0.0.1:<port>), user and password; '' when it cannot run. */
    registryHost: string;
    registryUsername: string;
    registryPassword: string;
    /** Why the registry tests are skipped, when they are. */
    registryMissing: string;
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

/**
 * Starts the private registry first: Podman must be told its port is plain HTTP when it starts (its
 * registries.conf), dockerd takes 127.0.0.0/8 as insecure by itself.
 */
async function setUpRegistry(project: TestProject): Promise<RegistryService | null> {
  const missing = registryMissing();
  if (missing) {
    if (process.env.CI) throw new Error(`The registry tests need it, and CI must run them: ${missing}`);
    console.warn(`Skipping registry tests: ${missing}`);
  }
  const registry = missing ? null : await startRegistryOnFreePort();
  project.provide('registryHost', registry?.host ?? '');
  project.provide('registryUsername', registry?.username ?? '');
  project.provide('registryPassword', registry?.password ?? '');
  project.provide('registryMissing', missing ?? '');
  return registry;
}

/** Starts a private registry, a private Podman and a private Docker Engine for the whole run. */
export default async function setup(project: TestProject) {
  await buildPackWorker();
  const registry = await setUpRegistry(project);
  const insecureRegistries = registry ? [registry.host] : [];
  const started = await Promise.allSettled([
    setUpEngine(project, 'Podman engine', { url: 'engineUrl', missing: 'engineMissing' }, podmanMissing(), () =>
      startPodman({ insecureRegistries }),
    ),
    setUpEngine(
      project,
      'Docker Engine',
      { url: 'dockerUrl', missing: 'dockerMissing' },
      dockerdMissing(),
      startDockerd,
    ),
  ]);
  const services = [...started.map((result) => (result.status === 'fulfilled' ? result.value : null)), registry];
  const stopAll = () => Promise.all(services.map((service) => service?.stop())).then(() => undefined);
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    // One engine failed to start: the other must not outlive the run.
    await stopAll();
    throw failed.reason;
  }
  return stopAll;
}
