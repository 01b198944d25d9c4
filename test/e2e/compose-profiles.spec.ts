import { pathToFileURL } from 'node:url';
import { expect, test } from '@playwright/test';
import type { Project } from '../../src/shared/domain';
import { fixture, tempDir } from '../support/fixtures';
import { type ServedSlipway, serveSlipway } from '../support/serve';
import { callContract, dropFolder, SCREENS_DIR } from '../support/ui';

let served: ServedSlipway;
let data: Awaited<ReturnType<typeof tempDir>>;
let project: Awaited<ReturnType<typeof fixture>>;
test.beforeAll(async () => {
  data = await tempDir('slipway-e2e-data-');
  project = await fixture('ui-profiles', { busyboxIn: [] });
  served = await serveSlipway(['--data-dir', data.path]);
});
test.afterAll(async () => {
  await served?.stop();
  await project?.cleanup();
  await data?.cleanup();
});

test('the project screen shows the compose files, .env and warnings, and a profile toggle re-opens the project', async ({
  page,
}) => {
  await page.goto(served.url);
  await dropFolder(page, pathToFileURL(project.path).href);
  await expect(page.getByTestId('task-web')).toBeVisible();
  await expect(page.getByTestId('task-debug')).toHaveCount(0);
  await expect(page.getByTestId('compose-files')).toContainText('compose.yaml');
  const variables = page.getByTestId('compose-variables');
  await expect(variables).toContainText('WEB_TAG');
  await expect(variables).toContainText('from-dotenv');
  await expect(variables).toContainText('API_TOKEN');
  await expect(variables).not.toContainText('do-not-show');
  await expect(page.getByTestId('compose-inactive')).toContainText('debug');
  await expect(page.getByTestId('compose-warnings')).toContainText('build.privileged is not carried');

  const toggle = page.getByTestId('compose-profiles').getByLabel('debug');
  await expect(toggle).not.toBeChecked();
  await toggle.click();
  await expect(page.getByTestId('task-debug')).toBeVisible();
  await expect(toggle).toBeChecked();
  await expect(page.getByTestId('compose-inactive')).toHaveCount(0);
  await page.screenshot({ path: `${SCREENS_DIR}/project-compose.png`, fullPage: true });

  // The choice is remembered for the folder: opening it again without options keeps the profile on.
  const reopened = await callContract(page, served, 'project.open', { path: project.path });
  const again = reopened.result as Project;
  expect(again.tasks.map((task) => task.service)).toEqual(['web', 'debug']);
  expect(again.compose?.options.profiles).toEqual(['debug']);

  await page.reload();
  await toggle.click();
  await expect(page.getByTestId('task-debug')).toHaveCount(0);
  const off = (await callContract(page, served, 'project.open', { path: project.path })).result as Project;
  expect(off.tasks.map((task) => task.service)).toEqual(['web']);
});
