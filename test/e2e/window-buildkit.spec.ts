import { pathToFileURL } from 'node:url';
import { expect, test } from '@playwright/test';
import { servedOnDockerd } from '../support/served-dockerd';
import { dropFolder, SCREENS_DIR } from '../support/ui';

// The window builds a BuildKit project (a cache mount, two stages) on a real Docker Engine.
const { missing, url, projectPath } = servedOnDockerd('buildkit', 'BuildKit window test');

test('a BuildKit project builds in the window, which says BuildKit ran it and folds its steps', async ({ page }) => {
  test.skip(missing !== null, `Skipped: ${missing}`);
  test.setTimeout(180_000);
  await page.goto(url());
  await dropFolder(page, pathToFileURL(projectPath()).href);
  await expect(page.getByTestId('task-main')).toBeVisible();
  // This engine has no bridge network: RUN steps need none (a test setting, not a default).
  await page.getByLabel('Network').fill('none');
  await page.keyboard.press('Control+b');
  await expect(page.getByTestId('build-task-main')).toHaveAttribute('data-phase', 'done', { timeout: 150_000 });
  await expect(page.getByTestId('build-status')).toHaveText('Succeeded');
  await expect(page.getByTestId('build-task-main').getByTestId('task-builder')).toHaveText('BuildKit');
  await page.getByTestId('build-task-main').getByRole('button', { name: /Log/ }).click();
  // A step row: BuildKit's vertex header, then the step's duration (and the step's Copy button).
  await expect(page.locator('.log-row.step').first()).toContainText(/#\d+ \[base \d\/3\] .*\d+ ms(Copy)?$/);
  await expect(page.locator('.log-viewer')).toContainText(/#\d+ DONE \d+\.\ds/);
  await page.screenshot({ path: `${SCREENS_DIR}/build-buildkit.png` });
});
