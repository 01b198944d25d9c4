import { expect, test } from '@playwright/test';
import { type ServedSlipway, serveSlipway } from '../support/serve';

let served: ServedSlipway;
test.beforeAll(async () => {
  served = await serveSlipway();
});
test.afterAll(async () => {
  await served.stop();
});

test('browser mode serves the window, which reaches the engine through the contract', async ({ page }) => {
  await page.goto(served.url);
  await expect(page.getByRole('heading', { name: 'Slipway' })).toBeVisible();
  await expect(page.getByRole('status')).toContainText('browser mode');
  await page.screenshot({ path: 'test-results/screens/start.png' });
});

test('browser mode refuses a request without the token', async ({ request }) => {
  const response = await request.post(`${served.origin}/api/app.info`, { data: {} });
  expect(response.status()).toBe(403);
});
