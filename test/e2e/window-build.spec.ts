import { pathToFileURL } from 'node:url';
import { expect, test } from '@playwright/test';
import type { Project } from '../../src/shared/domain';
import { formatBytes } from '../../src/shared/format';
import { fixture, tempDir } from '../support/fixtures';
import { type PodmanService, podmanMissing, startPodman } from '../support/podman';
import { type ServedSlipway, serveSlipway } from '../support/serve';
import { callContract, dropFolder, SCREENS_DIR } from '../support/ui';

// One story, in order: drop a project, read it, build it, read a log, search it, find it in history.
test.describe.configure({ mode: 'serial' });

const missing = podmanMissing();
// CI must run the story on the real engine: there a missing Podman fails instead of skipping.
if (missing && process.env.CI) throw new Error(`The window's end-to-end story needs Podman: ${missing}`);
let podman: PodmanService;
let served: ServedSlipway;
let project: { path: string; cleanup(): Promise<void> };
let dataDir: { path: string; cleanup(): Promise<void> };

test.beforeAll(async () => {
  if (missing) {
    if (process.env.CI) throw new Error(`The window's end-to-end test needs Podman in CI: ${missing}`);
    return;
  }
  podman = await startPodman();
  project = await fixture('ui-multi', { busyboxIn: ['.', 'api', 'web'] });
  dataDir = await tempDir('slipway-ui-data-');
  served = await serveSlipway(['--builder', podman.url, '--data-dir', dataDir.path]);
});

test.afterAll(async () => {
  await served?.stop();
  await podman?.stop();
  await project?.cleanup();
  await dataDir?.cleanup();
});

test('a dropped multi-service project builds, and its logs and history are readable', async ({ page }) => {
  test.skip(missing !== null, `Skipped: ${missing}`);
  test.setTimeout(240_000);

  await page.goto(served.url);
  await expect(page.getByText('Drop a project folder')).toBeVisible();
  await page.screenshot({ path: `${SCREENS_DIR}/start.png` });

  // What the engine makes of the folder, to check the window shows all of it.
  const opened = await callContract(page, served, 'project.open', { path: project.path });
  const expected = opened.result as Project;
  expect(expected.tasks.length).toBeGreaterThan(0);

  await dropFolder(page, pathToFileURL(project.path).href);
  await expect(page.getByRole('heading', { name: expected.name })).toBeVisible();
  for (const task of expected.tasks) {
    await expect(page.getByTestId(`task-${task.id}`)).toContainText(task.service);
  }
  if (expected.composeFile) {
    expect(expected.tasks.map((task) => task.service).sort()).toEqual(['api', 'web']);
  }

  // Each task's exact upload size, as project.inspect computed it.
  const inspected = await callContract(page, served, 'project.inspect', { projectId: expected.id });
  expect(inspected.error).toBeUndefined();
  for (const task of inspected.result?.tasks ?? []) {
    await expect(page.getByTestId(`task-${task.taskId}`)).toContainText(
      `${task.scan.tarBytes.toLocaleString('en-US')} B`,
    );
  }
  expect(inspected.result?.tasks.length).toBe(expected.tasks.length);

  // The region chosen by the probe; pinning a region wins over the probe, and unpinning gives the choice back.
  await expect(page.getByTestId('region-reason')).toContainText('Chosen');
  const region = page.getByTestId('region').first();
  await region.getByRole('button', { name: 'Pin' }).click();
  await expect(page.getByTestId('region-reason')).toContainText('Pinned to');
  await region.getByRole('button', { name: 'Unpin' }).click();
  await expect(page.getByTestId('region-reason')).toContainText('Chosen');
  await page.screenshot({ path: `${SCREENS_DIR}/project.png`, fullPage: true });

  await page.keyboard.press('Control+b');
  await expect(page.getByTestId('build-status')).toBeVisible();
  await page.screenshot({ path: `${SCREENS_DIR}/build-running.png` });
  for (const task of expected.tasks) {
    await expect(page.getByTestId(`build-task-${task.id}`)).toHaveAttribute('data-phase', 'done', { timeout: 180_000 });
  }
  await expect(page.getByTestId('build-status')).toHaveText('Succeeded');
  await expect(page.getByTestId('build-region')).not.toBeEmpty();
  // What the builds were estimated to add to the engine: each task's estimate, as many at a time as run.
  const each = inspected.result?.tasks[0]?.memoryEstimateBytes ?? 0;
  const atOnce = Math.min(expected.tasks.length, 2);
  await expect(page.getByTestId('memory-strip')).toContainText(
    `Builds estimated to add at most ${formatBytes(each * atOnce)} (${atOnce} at a time)`,
  );
  const buildId = /#\/build\/([^/]+)/.exec(page.url())?.[1] as string;
  expect(buildId).toBeTruthy();

  // A task's log: its step lines are marked, search finds a line.
  const first = expected.tasks[0]?.id as string;
  await page.getByTestId(`build-task-${first}`).getByRole('button', { name: /Log/ }).click();
  await expect(page.locator('.log-row.step').first()).toContainText(/STEP \d+\/\d+|Step \d+\/\d+/);
  await page.screenshot({ path: `${SCREENS_DIR}/build.png` });
  // The theme follows the system.
  await page.emulateMedia({ colorScheme: 'dark' });
  const darkBackground = await page.evaluate('getComputedStyle(document.body).backgroundColor');
  expect(darkBackground).not.toBe('rgb(246, 247, 249)');
  await page.screenshot({ path: `${SCREENS_DIR}/build-dark.png` });
  await page.emulateMedia({ colorScheme: 'light' });

  await page.keyboard.press('Control+f');
  await expect(page.getByRole('searchbox', { name: 'Search the log' })).toBeFocused();
  await page.keyboard.type('hello-from');
  await page.keyboard.press('Enter');
  const status = page.locator('.log-search-status');
  await expect(status).toHaveText(/^1 of \d+/);
  await expect(page.locator('.log-row.current')).toContainText('hello-from');
  // The same search as a regular expression, with the next match one key away.
  await page.getByRole('button', { name: '.*' }).click();
  await page.getByRole('searchbox', { name: 'Search the log' }).fill('^hello-from-[a-z]+$');
  await page.keyboard.press('Enter');
  await expect(status).toHaveText(/^1 of 1$/);
  await expect(page.locator('.log-row.current mark')).toHaveText(/^hello-from-[a-z]+$/);
  await page.screenshot({ path: `${SCREENS_DIR}/log.png` });

  // Every task's log at once, each following its own tail.
  await page.getByRole('button', { name: 'Close the log' }).click();
  await page.getByRole('button', { name: "watch every task's log" }).click();
  await expect(page.locator('.log-viewer')).toHaveCount(expected.tasks.length);
  for (const viewer of await page.locator('.log-viewer').all()) {
    await expect(viewer.locator('.log-row.step').first()).toBeVisible();
  }
  await page.screenshot({ path: `${SCREENS_DIR}/logs-all.png` });

  // After a reload the build is still there, and history opens it.
  await page.reload();
  await expect(page.getByTestId('build-status')).toHaveText('Succeeded');
  await page.getByRole('button', { name: 'History' }).click();
  const row = page.getByTestId('history-row').first();
  await expect(row).toContainText('succeeded');
  await page.screenshot({ path: `${SCREENS_DIR}/history.png` });
  await row.getByRole('link').click();
  await expect(page.getByTestId('build-status')).toHaveText('Succeeded');
  expect(page.url()).toContain(buildId);
  // Deleting it from history removes its row.
  await page.getByRole('button', { name: 'History' }).click();
  const rows = await page.getByTestId('history-row').count();
  expect(rows).toBeGreaterThan(0);
  await page.getByTestId('history-row').first().getByRole('button', { name: 'Delete build' }).click();
  await expect(page.getByTestId('history-row')).toHaveCount(rows - 1);

  await page.getByRole('button', { name: 'Settings' }).click();
  await expect(page.getByRole('heading', { name: 'Settings' })).toBeVisible();
  await expect(page.getByText(dataDir.path)).toBeVisible();
  // A target with two regional endpoints survives a reload.
  await page.getByRole('button', { name: 'Add a target' }).click();
  await page.getByRole('button', { name: 'Add a region' }).click();
  await page.getByLabel('Region').nth(0).fill('here');
  await page.getByLabel('Endpoint URL').nth(0).fill(podman.url);
  await page.getByLabel('Region').nth(1).fill('far');
  await page.getByLabel('Endpoint URL').nth(1).fill('tcp://198.51.100.7:2375');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText('Settings saved.')).toBeVisible();
  await page.reload();
  await expect(page.getByLabel('Endpoint URL').nth(1)).toHaveValue('tcp://198.51.100.7:2375');
  await page.screenshot({ path: `${SCREENS_DIR}/settings.png`, fullPage: true });
});

test('a failing task shows its error with its code, and the window stays usable', async ({ page }) => {
  test.skip(missing !== null, `Skipped: ${missing}`);
  const failing = await fixture('failing');
  try {
    await page.goto(served.url);
    await dropFolder(page, pathToFileURL(failing.path).href);
    await expect(page.getByTestId('task-main')).toBeVisible();
    await page.getByRole('button', { name: 'Build Ctrl+B' }).click();
    const row = page.getByTestId('build-task-main');
    await expect(row).toHaveAttribute('data-phase', 'failed', { timeout: 120_000 });
    await expect(row.getByRole('alert')).toContainText('E_BUILD_FAILED');
    await expect(page.getByTestId('build-status')).toHaveText('Failed');
    await page.screenshot({ path: `${SCREENS_DIR}/build-failed.png` });
    await page.getByRole('button', { name: 'Open' }).click();
    await expect(page.getByText('Drop a project folder')).toBeVisible();
  } finally {
    await failing.cleanup();
  }
});

test('Cancel stops a running build, and its task says it was cancelled', async ({ page }) => {
  test.skip(missing !== null, `Skipped: ${missing}`);
  const slow = await fixture('ui-slow');
  try {
    await page.goto(served.url);
    await dropFolder(page, pathToFileURL(slow.path).href);
    await expect(page.getByTestId('task-main')).toBeVisible();
    await page.keyboard.press('Control+b');
    const row = page.getByTestId('build-task-main');
    await expect(row).toHaveAttribute('data-phase', 'building', { timeout: 60_000 });
    await row.getByRole('button', { name: /Log/ }).click();
    await expect(page.locator('.log-text', { hasText: /^waiting-to-be-cancelled$/ })).toBeVisible({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Cancel build' }).click();
    await expect(row).toHaveAttribute('data-phase', 'cancelled', { timeout: 30_000 });
    await expect(page.getByTestId('build-status')).toHaveText('Cancelled');
    await expect(page.getByRole('button', { name: 'Cancel build' })).toBeHidden();
    await page.screenshot({ path: `${SCREENS_DIR}/build-cancelled.png` });
  } finally {
    await slow.cleanup();
  }
});
