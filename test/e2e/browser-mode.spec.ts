import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, test } from '@playwright/test';
import { startFakeBalenaBuilder } from '../support/fake-balena-builder';
import { fixture, tempDir } from '../support/fixtures';
import { type ServedSlipway, serveSlipway } from '../support/serve';
import { dropFolder, SCREENS_DIR } from '../support/ui';

let served: ServedSlipway;
test.beforeAll(async () => {
  served = await serveSlipway();
});
test.afterAll(async () => {
  await served.stop();
});

test('browser mode serves the window, which reaches the engine through the contract', async ({ page }) => {
  await page.goto(served.url);
  await expect(page.getByText('Drop a project folder')).toBeVisible();
  await expect(page.getByRole('status')).toContainText('browser mode');
});

test('browser mode refuses a request without the token', async ({ request }) => {
  const response = await request.post(`${served.origin}/api/app.info`, { data: {} });
  expect(response.status()).toBe(403);
  expect(await response.text()).toContain('token');
});

test('browser mode refuses a request with a wrong token', async ({ request }) => {
  const response = await request.post(`${served.origin}/api/app.info`, {
    data: {},
    headers: { 'x-slipway-token': 'f'.repeat(served.token.length) },
  });
  expect(response.status()).toBe(403);
});

test('browser mode refuses a request naming another Host, as a DNS-rebinding page would', async ({ request }) => {
  const response = await request.post(`${served.origin}/api/app.info`, {
    data: {},
    headers: { 'x-slipway-token': served.token, host: 'attacker.example:80' },
  });
  expect(response.status()).toBe(403);
  expect(await response.text()).toContain('Host');
});

test('browser mode refuses a request from another Origin', async ({ request }) => {
  const response = await request.post(`${served.origin}/api/app.info`, {
    data: {},
    headers: { 'x-slipway-token': served.token, origin: 'http://attacker.example' },
  });
  expect(response.status()).toBe(403);
  expect(await response.text()).toContain('Origin');
});

test('browser mode answers its own page, with the token', async ({ request }) => {
  const response = await request.post(`${served.origin}/api/app.info`, {
    data: {},
    headers: { 'x-slipway-token': served.token, origin: served.origin },
  });
  expect(response.status()).toBe(200);
  expect((await response.json()).result.mode).toBe('browser');
});

test('the folder picker walks folders through folders.list and opens one typed in its path field', async ({ page }) => {
  await page.goto(served.url);
  await expect(page.getByText('Drop a project folder')).toBeVisible();
  await page.keyboard.press('Control+o');
  const dialog = page.getByRole('dialog', { name: 'Choose a project folder' });
  await expect(dialog).toBeVisible();
  // The home folder's listing first, as a user sees it: a fill (select all, then insert) that it lands
  // between would insert after the home path.
  await expect(dialog.getByLabel('Folder path')).not.toHaveValue('');
  await dialog.getByLabel('Folder path').fill('/usr');
  await dialog.getByRole('button', { name: 'Go' }).click();
  await expect(dialog.getByRole('button', { name: /share/ })).toBeVisible();
  await page.screenshot({ path: `${SCREENS_DIR}/folder-picker.png` });
  await dialog.getByRole('button', { name: /share/ }).click();
  await expect(dialog.getByLabel('Folder path')).toHaveValue('/usr/share');
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
});

test('a folder without a Dockerfile is refused calmly, naming the path, and the window keeps working', async ({
  page,
}) => {
  await page.goto(served.url);
  await expect(page.getByText('Drop a project folder')).toBeVisible();
  await page.keyboard.press('Control+o');
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByLabel('Folder path')).not.toHaveValue('');
  await dialog.getByLabel('Folder path').fill('/usr/share');
  await dialog.getByRole('button', { name: 'Go' }).click();
  await dialog.getByRole('button', { name: 'Open this folder' }).click();
  await expect(page.getByRole('alert')).toContainText('E_NO_DOCKERFILE');
  await expect(page.getByRole('alert')).toContainText('/usr/share');
  await expect(page.getByText('Drop a project folder')).toBeVisible();
});

test('a folder dropped on any screen opens, replacing the project shown', async ({ page }) => {
  const first = await fixture('single');
  const second = await fixture('failing');
  try {
    await page.goto(served.url);
    await dropFolder(page, pathToFileURL(first.path).href);
    await expect(page.getByRole('heading', { name: /slipway-single-/ })).toBeVisible();
    await dropFolder(page, pathToFileURL(second.path).href, 'main.screen');
    await expect(page.getByRole('heading', { name: /slipway-failing-/ })).toBeVisible();
  } finally {
    await first.cleanup();
    await second.cleanup();
  }
});

test('a balena target takes a write-only token, and its build lists the builder’s own log', async ({ page }) => {
  test.setTimeout(90_000);
  const data = await tempDir('slipway-ui-balena-data-');
  const project = await fixture('single');
  const fake = await startFakeBalenaBuilder({
    steps: [
      { message: { type: 'metadata', resource: 'buildLogId', value: '777' } },
      { message: { message: '[Info]     Starting build for org/fleet' } },
      { message: { message: '[main]     Step 1/1 : FROM scratch' } },
      { message: { message: '[Success]  Release successfully created!' } },
    ],
  });
  const own = await serveSlipway(['--data-dir', data.path]);
  const token = 'e2e-token-never-shown-0b7f';
  try {
    await page.goto(own.url);
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByRole('button', { name: 'Add a target' }).click();
    await page.getByLabel('Target name').fill('fleet');
    await page.getByLabel('Builder kind').selectOption('balena');
    await page.getByLabel('Fleet').fill('org/fleet');
    await page.getByLabel('Region').fill('eu');
    await page.getByLabel('Endpoint URL').fill(fake.url);
    await page.getByRole('radio').check();
    await page.getByRole('button', { name: 'Save' }).click();
    await expect(page.getByText('Settings saved.')).toBeVisible();

    const status = page.getByTestId('token-status');
    await expect(status).toHaveText('not stored');
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Store token' }).click();
    await expect(status).toHaveText('stored');
    await expect(page.getByLabel('API token')).toHaveValue('');
    await page.reload();
    await expect(page.getByTestId('token-status')).toHaveText('stored');
    await expect(page.getByLabel('API token')).toHaveValue('');
    await page.screenshot({ path: `${SCREENS_DIR}/settings-balena.png`, fullPage: true });
    expect(await page.content()).not.toContain(token);
    const secrets = join(data.path, 'secrets');
    const [file] = await readdir(secrets);
    expect((await stat(join(secrets, file as string))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(data.path, 'settings.json'), 'utf8')).not.toContain(token);

    await dropFolder(page, pathToFileURL(project.path).href, 'main.screen');
    await expect(page.getByTestId('task-main')).toBeVisible();
    await page.getByRole('button', { name: 'Build Ctrl+B' }).click();
    await expect(page.getByTestId('build-status')).toHaveText('Succeeded', { timeout: 60_000 });
    expect(fake.builds[0]?.headers.authorization).toBe(`Bearer ${token}`);
    await page.getByTestId('build-own-log').click();
    await expect(page.getByText('Release successfully created!')).toBeVisible();
    await expect(page.getByText('Starting build for org/fleet')).toBeVisible();
    await page.screenshot({ path: `${SCREENS_DIR}/build-balena-log.png`, fullPage: true });
    expect(await page.content()).not.toContain(token);
  } finally {
    await own.stop();
    await fake.close();
    await project.cleanup();
    await data.cleanup();
  }
});
