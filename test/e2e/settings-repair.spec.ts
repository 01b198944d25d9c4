import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { tempDir } from '../support/fixtures';
import { type ServedSlipway, serveSlipway } from '../support/serve';

let data: Awaited<ReturnType<typeof tempDir>>;
let served: ServedSlipway;
test.beforeAll(async () => {
  data = await tempDir('slipway-e2e-bad-settings-');
  await writeFile(join(data.path, 'settings.json'), '{"concurrency":"x"}');
  served = await serveSlipway(['--data-dir', data.path]);
});
test.afterAll(async () => {
  await served.stop();
  await data.cleanup();
});

test('a settings.json the engine cannot use is named on the Settings screen, and Repair keeps it aside', async ({
  page,
}) => {
  await page.goto(served.url);
  await page.goto(`${served.origin}/#/settings`);
  const notice = page.getByTestId('settings-repair');
  await expect(notice).toContainText('E_SETTINGS_INVALID');
  await expect(notice).toContainText('concurrency');
  await notice.getByRole('button', { name: 'Repair' }).click();
  await expect(page.getByRole('button', { name: 'Save' })).toBeVisible();
  const kept = (await readdir(data.path)).filter((name) => name.startsWith('settings.json.bad-'));
  expect(kept).toHaveLength(1);
  expect(await readFile(join(data.path, kept[0] as string), 'utf8')).toBe('{"concurrency":"x"}');
  expect(JSON.parse(await readFile(join(data.path, 'settings.json'), 'utf8')).concurrency).toBe(2);
});
