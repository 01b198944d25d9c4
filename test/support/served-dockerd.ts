import { test } from '@playwright/test';
import { type DockerService, dockerdMissing, startDockerd } from './dockerd';
import { fixture, tempDir } from './fixtures';
import { type ServedSlipway, serveSlipway } from './serve';

export interface ServedOnDockerd {
  /** Why dockerd cannot run here, or null. */
  missing: string | null;
  /** Browser mode's address, once beforeAll has run. */
  url(): string;
  /** The fixture project's folder, once beforeAll has run. */
  projectPath(): string;
}

/**
 * For a window spec that builds on a real Docker Engine: a private dockerd, a copy of fixture `name`
 * and a browser-mode Slipway on a fresh data directory, started before the file's tests and stopped
 * after them. Without dockerd the tests skip, saying why; in CI that is an error (`what` names the test).
 */
export function servedOnDockerd(name: string, what: string, options: { busyboxIn?: string[] } = {}): ServedOnDockerd {
  const missing = dockerdMissing();
  if (missing && process.env.CI) throw new Error(`The ${what} needs dockerd in CI: ${missing}`);
  let dockerd: DockerService | undefined;
  let served: ServedSlipway | undefined;
  let project: { path: string; cleanup(): Promise<void> } | undefined;
  let dataDir: { path: string; cleanup(): Promise<void> } | undefined;

  test.beforeAll(async () => {
    if (missing) return;
    dockerd = await startDockerd();
    project = await fixture(name, options);
    dataDir = await tempDir(`slipway-ui-${name}-`);
    served = await serveSlipway(['--builder', dockerd.url, '--data-dir', dataDir.path]);
  });

  test.afterAll(async () => {
    await served?.stop();
    await dockerd?.stop();
    await project?.cleanup();
    await dataDir?.cleanup();
  });

  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('servedOnDockerd: used before beforeAll started it');
    return value;
  };
  return { missing, url: () => started(served).url, projectPath: () => started(project).path };
}
