import { pathToFileURL } from 'node:url';
import { expect, type Page, test } from '@playwright/test';
import { fixture, tempDir } from '../support/fixtures';
import { type PodmanService, podmanMissing, startPodman } from '../support/podman';
import { type ServedSlipway, serveSlipway } from '../support/serve';
import { callContract, dropFolder, SCREENS_DIR } from '../support/ui';

// Reading logs of real builds on Podman: every task's log as one, and a failed build's error.
test.describe.configure({ mode: 'serial' });

const missing = podmanMissing();
if (missing && process.env.CI) throw new Error(`The window's log tests need Podman: ${missing}`);
let podman: PodmanService;
let served: ServedSlipway;
let dataDir: { path: string; cleanup(): Promise<void> };

test.beforeAll(async () => {
  if (missing) return;
  podman = await startPodman();
  dataDir = await tempDir('slipway-ui-logs-');
  served = await serveSlipway(['--builder', podman.url, '--data-dir', dataDir.path]);
});

test.afterAll(async () => {
  await served?.stop();
  await podman?.stop();
  await dataDir?.cleanup();
});

/** Drops a fixture on the window and builds it; answers the build's id once the build screen shows it. */
async function build(page: Page, folder: string, firstTask: string): Promise<string> {
  await page.goto(served.url);
  await dropFolder(page, pathToFileURL(folder).href);
  await expect(page.getByTestId(`task-${firstTask}`)).toBeVisible();
  // The engine answered its probe: a loaded machine can make a first answer slow.
  await expect(page.getByTestId('region-reason')).toContainText('Chosen', { timeout: 60_000 });
  await page.keyboard.press('Control+b');
  await expect(page.getByTestId('build-status')).toBeVisible();
  await expect(page).toHaveURL(/#\/build\/[^/]+/);
  return /#\/?build\/([^/]+)/.exec(page.url())?.[1] as string;
}

test("two services' logs read as one show both tasks' lines in time order, each with its prefix", async ({ page }) => {
  test.skip(missing !== null, `Skipped: ${missing}`);
  test.setTimeout(240_000);
  await page.setViewportSize({ width: 1280, height: 1000 });
  const project = await fixture('ui-interleaved', { busyboxIn: ['api', 'web'] });
  try {
    const buildId = await build(page, project.path, 'api');
    await page.getByRole('button', { name: 'read them as one log' }).click();
    for (const task of ['api', 'web']) {
      await expect(page.getByTestId(`build-task-${task}`)).toHaveAttribute('data-phase', 'done', { timeout: 180_000 });
    }
    await page.getByRole('button', { name: 'Times', exact: true }).click();
    await page.getByTestId('log-scroller').evaluate((element) => {
      element.scrollTop = 0;
    });

    // Every tick in view, prefixed by the task that printed it.
    const ticks = page.locator('.log-row[data-task]', { hasText: /-tick-\d/ });
    await expect(ticks).toHaveCount(12);
    const shown = await ticks.evaluateAll((rows) =>
      rows.map((row) => ({
        task: row.getAttribute('data-task') ?? '',
        line: Number(row.getAttribute('data-line')),
        text: /\w+-tick-\d/.exec(row.querySelector('.log-text')?.textContent ?? '')?.[0] ?? '',
        time: row.querySelector('.log-time')?.textContent ?? '',
      })),
    );
    for (const row of shown) expect(row.text.startsWith(`${row.task}-tick-`)).toBe(true);
    // The order the window shows is the order the engine spooled them: by time, ties by task.
    const spooled = [];
    for (const [order, task] of ['api', 'web'].entries()) {
      const log = await callContract(page, served, 'logs.read', {
        buildId,
        taskId: task,
        fromLine: 0,
        count: 1000,
        times: true,
      });
      for (const [line, text] of (log.result?.lines ?? []).entries()) {
        if (/-tick-\d/.test(text)) spooled.push({ task, order, line, atMs: log.result?.atMs?.[line] ?? 0 });
      }
    }
    spooled.sort((a, b) => a.atMs - b.atMs || a.order - b.order || a.line - b.line);
    expect(shown.map((row) => `${row.task}:${row.line}`)).toEqual(spooled.map((row) => `${row.task}:${row.line}`));
    // Times read down the page never go back, and each task's ticks come in their own order.
    const times = shown.map((row) => row.time);
    expect(times.every((time) => /^\d\d:\d\d:\d\d\.\d{3}$/.test(time))).toBe(true);
    expect([...times].sort()).toEqual(times);
    for (const task of ['api', 'web']) {
      expect(shown.filter((row) => row.task === task).map((row) => row.text)).toEqual(
        [1, 2, 3, 4, 5, 6].map((i) => `${task}-tick-${i}`),
      );
    }
    await page.locator('.build-log').screenshot({ path: `${SCREENS_DIR}/log-interleaved-build.png` });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.locator('.build-log').screenshot({ path: `${SCREENS_DIR}/log-interleaved-build-dark.png` });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.getByRole('button', { name: 'Times', exact: true }).click();
  } finally {
    await project.cleanup();
  }
});

test("a failing build opens the failing task's log at its error, the failed step open and the others folded", async ({
  page,
}) => {
  test.skip(missing !== null, `Skipped: ${missing}`);
  test.setTimeout(240_000);
  // Two projects: the second's steps must run, not come from the first's cache.
  const failing = await fixture('failing');
  const project = await fixture('ui-failing-late');
  try {
    const buildId = await build(page, failing.path, 'main');
    const row = page.getByTestId('build-task-main');
    await expect(row).toHaveAttribute('data-phase', 'failed', { timeout: 180_000 });

    // The log opened by itself, at the first line the builder marked as an error.
    await expect(page).toHaveURL(new RegExp(`#build/${buildId}/main/\\d+$`));
    const current = page.locator('.log-row.current');
    await expect(current).toHaveClass(/error/);
    await expect(current).toContainText(/exit status 3|broken-step/);
    const errorLine = (await callContract(page, served, 'logs.firstError', { buildId, taskId: 'main' })).result?.line;
    await expect(current).toHaveAttribute('data-line', String(errorLine));
    await page.screenshot({ path: `${SCREENS_DIR}/log-failed-opens.png` });

    // Watching a log as its build ends: finished steps fold, the failed one stays open.
    const again = await build(page, project.path, 'main');
    await page.getByTestId('build-task-main').getByRole('button', { name: /Log/ }).click();
    await expect(page.locator('.log-text', { hasText: /^working-1$/ })).toBeVisible({ timeout: 120_000 });
    await expect(page.getByTestId('build-task-main')).toHaveAttribute('data-phase', 'failed', { timeout: 180_000 });
    await expect(page).toHaveURL(new RegExp(`#build/${again}/main/\\d+$`));
    await expect(
      page.locator('.log-row.step', { hasText: 'STEP 3/4' }).getByRole('button', { name: 'Unfold step' }),
    ).toBeVisible();
    await expect(page.locator('.log-text', { hasText: /^working-1$/ })).toBeHidden();
    await expect(
      page.locator('.log-row.step', { hasText: 'STEP 4/4' }).getByRole('button', { name: 'Fold step' }),
    ).toBeVisible();
    await expect(page.locator('.log-row.current')).toContainText(/exit status 3|broken-step/);
    await page.screenshot({ path: `${SCREENS_DIR}/log-failed-folded.png` });

    // A step's own lines to the clipboard, without the rest of the log.
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    const failedStep = page.locator('.log-row.step', { hasText: 'STEP 4/4' });
    await failedStep.hover();
    await failedStep.getByRole('button', { name: "Copy this step's lines" }).click();
    await expect(page.getByText(/^Copied \d+ lines\.$/)).toBeVisible();
    const copied = (await page.evaluate('navigator.clipboard.readText()')) as string;
    expect(copied.split('\n')[0]).toMatch(/^STEP 4\/4: RUN/);
    expect(copied).toContain('broken-step');
    expect(copied).not.toContain('working-1');

    // Wrap: the long error line takes more than one row's height, and the choice is kept on reload.
    const longLine = page.locator('.log-row.error', { hasText: 'Slipway: E_BUILD_FAILED' });
    expect((await longLine.boundingBox())?.height).toBeLessThan(19);
    await page.getByRole('button', { name: 'Wrap', exact: true }).click();
    await expect.poll(async () => (await longLine.boundingBox())?.height ?? 0).toBeGreaterThan(30);
    await page.reload();
    await expect(page.getByRole('button', { name: 'Wrap', exact: true })).toHaveAttribute('aria-pressed', 'true');
    await page.getByRole('button', { name: 'Wrap', exact: true }).click();
  } finally {
    await failing.cleanup();
    await project.cleanup();
  }
});
