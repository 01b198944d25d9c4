import { pathToFileURL } from 'node:url';
import { expect, type Locator, type Page, test } from '@playwright/test';
import { servedOnDockerd } from '../support/served-dockerd';
import { dropFolder, SCREENS_DIR } from '../support/ui';

// Two services built with BuildKit on a real Docker Engine: the timeline shows api's two first stages
// side by side, the summary lists the images the engine made, and two builds compare step by step.
const { missing, url, projectPath } = servedOnDockerd('timeline', 'timeline window test', {
  busyboxIn: ['api', 'web'],
});

/** A step's bar, found by its row's label. */
function stepBar(page: Page, label: RegExp): Locator {
  return page
    .getByTestId('timeline')
    .locator('.timeline-label.kind-step', { hasText: label })
    .locator('xpath=following-sibling::div[1]')
    .getByTestId('timeline-bar');
}

async function span(bar: Locator): Promise<{ start: number; end: number }> {
  return {
    start: Number(await bar.getAttribute('data-start-ms')),
    end: Number(await bar.getAttribute('data-end-ms')),
  };
}

async function buildAndWait(page: Page): Promise<void> {
  await page.keyboard.press('Control+b');
  // Browser mode: the tab's title carries the build's progress while it runs, and drops it at the end.
  await expect(page).toHaveTitle(/^\d+% · slipway-timeline-\w+ — Slipway$/);
  for (const service of ['api', 'web']) {
    await expect(page.getByTestId(`build-task-${service}`)).toHaveAttribute('data-phase', 'done', { timeout: 150_000 });
  }
  await expect(page.getByTestId('build-status')).toHaveText('Succeeded');
  await expect(page).toHaveTitle('Slipway');
}

test.describe.configure({ mode: 'serial' });

test('a BuildKit build of two services shows its timeline with parallel stages, and the images it made', async ({
  page,
}) => {
  test.skip(missing !== null, `Skipped: ${missing}`);
  test.setTimeout(300_000);
  await page.goto(url());
  await dropFolder(page, pathToFileURL(projectPath()).href);
  await expect(page.getByTestId('task-api')).toBeVisible();
  await buildAndWait(page);

  const timeline = page.getByTestId('timeline');
  await expect(timeline).toBeVisible();
  // Each task has its lane with queued, packing and upload bars.
  await expect(timeline.locator('.timeline-label.kind-task')).toHaveText(['api', 'web']);
  await expect(timeline.locator('[data-kind=uploading]')).toHaveCount(2);
  // api's stages are grouped, and its tools and base stages ran at the same time.
  await expect(timeline.getByTestId('timeline-stage').filter({ hasText: 'tools' })).toBeVisible();
  await expect(timeline.getByTestId('timeline-stage').filter({ hasText: 'base' })).toBeVisible();
  const tools = await span(stepBar(page, /\[tools \d\/\d\] RUN/));
  const base = await span(stepBar(page, /\[base \d\/\d\] RUN/));
  expect(tools.end - tools.start).toBeGreaterThanOrEqual(900);
  expect(tools.start < base.end && base.start < tools.end).toBe(true);
  // The slowest steps are named; hovering a bar gives its exact times.
  await expect(page.getByTestId('timeline-slowest')).toContainText(/RUN/);
  await stepBar(page, /\[tools \d\/\d\] RUN/).hover();
  await expect(page.getByTestId('timeline-hover')).toContainText(/\+\d+\.\d{3} s → \+\d+\.\d{3} s/);
  await page.screenshot({ path: `${SCREENS_DIR}/timeline-light.png`, fullPage: true });
  await timeline.screenshot({ path: 'docs/timeline.png' });

  // The summary lists each image with its size as the engine reports it, and how to run it.
  const summary = page.getByTestId('build-summary');
  for (const service of ['api', 'web']) {
    const row = summary.getByTestId(`summary-${service}`);
    await expect(row.getByTestId('summary-size')).toHaveText(/^\d+(\.\d+)? (B|KiB|MiB|GiB)$/);
    await expect(row).toContainText(`docker run --rm timeline-${service}`);
  }
  await page.emulateMedia({ colorScheme: 'dark' });
  await stepBar(page, /\[base \d\/\d\] RUN/).hover();
  await page.screenshot({ path: `${SCREENS_DIR}/timeline-dark.png`, fullPage: true });
  await page.emulateMedia({ colorScheme: 'light' });
});

test('two builds compared step by step show the step whose duration changed', async ({ page }) => {
  test.skip(missing !== null, `Skipped: ${missing}`);
  test.setTimeout(300_000);
  await page.goto(url());
  await dropFolder(page, pathToFileURL(projectPath()).href);
  await expect(page.getByTestId('task-api')).toBeVisible();
  // SLOW makes api's base stage sleep 4 s instead of none; every other step comes from the cache.
  await page.getByLabel('Build args').fill('SLOW=4');
  await buildAndWait(page);
  await page.getByRole('button', { name: 'History', exact: true }).click();
  await expect(page.getByTestId('history-row')).toHaveCount(2);
  for (const row of await page.getByTestId('history-row').all()) await row.getByRole('checkbox').check();
  const compare = page.getByTestId('build-compare');
  await expect(compare).toBeVisible();
  await expect(page.getByTestId('compare-verdict')).toContainText(
    /api · \[base \d\/\d\] RUN .*sleep 4; .* took .* then .* \(\+\d\.\d s\)/,
  );
  const changed = compare.locator('[data-testid=compare-row][data-changed=true]', { hasText: /\[base \d\/\d\] RUN/ });
  await expect(changed).toHaveCount(1);
  await expect(changed.locator('.compare-delta')).toHaveText(/^\+\d\.\d s$/);
  // The tools stage did not change: it comes from the cache the second time.
  await expect(compare.locator('[data-testid=compare-row]', { hasText: /\[tools \d\/\d\] RUN/ })).toContainText(
    'now cached',
  );
  await compare.screenshot({ path: `${SCREENS_DIR}/compare-light.png` });
  await page.emulateMedia({ colorScheme: 'dark' });
  await compare.screenshot({ path: `${SCREENS_DIR}/compare-dark.png` });
});
