import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { tempDir } from '../support/fixtures';
import { type ServedSlipway, serveSlipway } from '../support/serve';
import { callContract } from '../support/ui';

const password = 'e2e-registry-password-never-shown';
let config: Awaited<ReturnType<typeof tempDir>>;
let served: ServedSlipway;
test.beforeAll(async () => {
  config = await tempDir('slipway-e2e-docker-config-');
  await writeFile(
    join(config.path, 'config.json'),
    JSON.stringify({
      auths: {
        'registry.example:5000': { auth: Buffer.from(`team:${password}`).toString('base64') },
        'https://index.docker.io/v1/': { username: 'hub', password },
      },
    }),
  );
  served = await serveSlipway([], { DOCKER_CONFIG: config.path });
});
test.afterAll(async () => {
  await served.stop();
  await config.cleanup();
});

test('Settings lists the registries that have credentials in the docker config, and never a secret', async ({
  page,
}) => {
  await page.goto(served.url);
  await page.goto(`${served.origin}/#/settings`);
  const list = page.getByRole('list', { name: 'Registries with credentials' });
  await expect(list.getByRole('listitem')).toHaveText(['index.docker.io', 'registry.example:5000']);
  await expect(page.getByTestId('registry-list')).toContainText(join(config.path, 'config.json'));
  expect(await page.content()).not.toContain(password);
  const answer = await callContract(page, served, 'registries.list');
  expect(answer.result?.registries).toEqual(['index.docker.io', 'registry.example:5000']);
  expect(JSON.stringify(answer)).not.toContain(password);
});

test('a docker config that cannot be read is named on the Settings screen', async ({ page }) => {
  await writeFile(join(config.path, 'config.json'), '{"auths": [');
  await page.goto(served.url);
  await page.goto(`${served.origin}/#/settings`);
  const alert = page.getByTestId('registry-list').getByRole('alert');
  await expect(alert).toContainText('E_REGISTRY_CONFIG_INVALID');
  await expect(alert).toContainText(join(config.path, 'config.json'));
});
