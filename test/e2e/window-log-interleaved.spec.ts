import { expect, type Page, test } from '@playwright/test';
import { tempDir } from '../support/fixtures';
import { writeInterleavedBuild } from '../support/interleaved-logs';
import { type ServedSlipway, serveSlipway } from '../support/serve';
import { callContract, SCREENS_DIR } from '../support/ui';

// Four tasks' logs of 500,000 lines each, written by the real spool writer in turns (as four builds
// running side by side would), read back in the window as one log.
const TASKS = ['api', 'web', 'worker', 'db'];
const LINES_PER_TASK = 500_000;
const LINES_PER_WRITE = 5_000;
const ERROR_TASK = 'worker';
const ERROR_LINE = 321_000;
const MAX_DOM_ROWS = 500;
const MAX_HEAP_BYTES = 150 * 1024 * 1024;
const buildId = '20261201-120000-4tasks';

let served: ServedSlipway;
let dataDir: { path: string; cleanup(): Promise<void> };

test.beforeAll(async () => {
  test.setTimeout(180_000);
  dataDir = await tempDir('slipway-ui-interleaved-');
  await writeInterleavedBuild(dataDir.path, buildId, {
    tasks: TASKS,
    linesPerTask: LINES_PER_TASK,
    linesPerWrite: LINES_PER_WRITE,
    error: { task: ERROR_TASK, line: ERROR_LINE },
  });
  served = await serveSlipway(['--data-dir', dataDir.path]);
});

test.afterAll(async () => {
  await served?.stop();
  await dataDir?.cleanup();
});

/** The rows in view: each one's task prefix and text. */
async function rowsInView(page: Page): Promise<{ task: string; text: string }[]> {
  return page.locator('.log-row[data-task]').evaluateAll((rows) =>
    rows.map((row) => ({
      task: row.getAttribute('data-task') ?? '',
      text: row.querySelector('.log-text')?.textContent ?? '',
    })),
  );
}

test('2,000,000 lines of 4 tasks read as one log with under 500 rows in the page and a small heap', async ({
  page,
}) => {
  test.setTimeout(180_000);
  await page.goto(`${served.url}#/build/${buildId}/log/+`);
  const scroller = page.getByTestId('log-scroller');
  await expect(page.getByTestId('log-line-count')).toHaveText('2,000,000 lines');

  // At the end: the last lines of the last writes, each with its task's prefix.
  await expect(page.locator('.log-row[data-task="db"]').last()).toContainText(`db line ${LINES_PER_TASK - 1}`);
  let maxRows = await page.locator('.log-row').count();

  // Anywhere in the middle: a screenful read on demand, the tasks in turns of a write each, in task order.
  const latencies: number[] = [];
  for (const fraction of [0.5, 0.1, 0.93, 0.37, 0.71, 0]) {
    const before = await page.locator('.log-row[data-task]').first().textContent();
    const ms = await scroller.evaluate(async (element, to) => {
      const started = performance.now();
      const first = () => element.querySelector('.log-row[data-task] .log-text')?.textContent;
      const was = first();
      element.scrollTop = (element.scrollHeight - element.clientHeight) * to;
      while (first() === was || !first())
        await new Promise((resolve) =>
          (globalThis as unknown as { requestAnimationFrame(f: () => void): void }).requestAnimationFrame(() =>
            resolve(null),
          ),
        );
      return performance.now() - started;
    }, fraction);
    latencies.push(ms);
    const rows = await rowsInView(page);
    expect(rows.length).toBeGreaterThan(10);
    expect(await page.locator('.log-row[data-task]').first().textContent()).not.toBe(before);
    for (const row of rows) expect(row.text).toMatch(new RegExp(`^${row.task} line \\d+`));
    // Within a screenful the lines of one task run in order, and a task's turn follows the one before it.
    const seen = rows.map((row) => ({ task: TASKS.indexOf(row.task), line: Number(/line (\d+)/.exec(row.text)?.[1]) }));
    for (let i = 1; i < seen.length; i++) {
      const a = seen[i - 1] as { task: number; line: number };
      const b = seen[i] as { task: number; line: number };
      if (a.task === b.task) expect(b.line).toBe(a.line + 1);
      else expect(b.task).toBe((a.task + 1) % TASKS.length);
    }
    maxRows = Math.max(maxRows, await page.locator('.log-row').count());
  }
  console.log(
    `interleaved log, 2,000,000 lines: ms from a scroll to the new lines shown: ${latencies.map((ms) => ms.toFixed(0)).join(', ')}`,
  );
  expect(maxRows).toBeGreaterThan(10);
  expect(maxRows).toBeLessThan(MAX_DOM_ROWS);

  // The first screen: every task's first write, in task order, each line prefixed.
  const top = await rowsInView(page);
  expect(top[0]).toEqual({ task: 'api', text: 'api line 0' });

  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = await cdp.send('Runtime.getHeapUsage');
  console.log(
    `interleaved log at 2,000,000 lines: ${maxRows} rows at most, JS heap ${(usedSize / 2 ** 20).toFixed(1)} MiB`,
  );
  expect(usedSize).toBeLessThan(MAX_HEAP_BYTES);

  // Times on: each row shows when it was spooled.
  await page.getByRole('button', { name: 'Times', exact: true }).click();
  await expect(page.locator('.log-time').first()).toHaveText(/^\d\d:\d\d:\d\d\.\d{3}$/);
  await page.screenshot({ path: `${SCREENS_DIR}/log-interleaved.png` });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: `${SCREENS_DIR}/log-interleaved-dark.png` });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.getByRole('button', { name: 'Times', exact: true }).click();

  // Leaving two tasks out shows only the others', still in turns.
  await page.getByRole('button', { name: 'web', exact: true }).click();
  await page.getByRole('button', { name: 'db', exact: true }).click();
  await expect(page.getByTestId('log-line-count')).toHaveText('1,000,000 lines');
  await expect(page.locator('.log-row[data-task="db"]')).toHaveCount(0);
  // The filtered window's lines arrive after the count: wait for them, then check every one.
  await expect.poll(async () => (await rowsInView(page)).length).toBeGreaterThan(10);
  const filtered = await rowsInView(page);
  for (const row of filtered) expect(['api', 'worker']).toContain(row.task);

  // The first error, by its button: worker's marked line, wherever it lies.
  await page.getByTestId('log-first-error').click();
  await expect(page.locator('.log-row.current')).toContainText(`${ERROR_TASK} line ${ERROR_LINE}: boom`);
  await page.getByRole('button', { name: 'web', exact: true }).click();
  await page.getByRole('button', { name: 'db', exact: true }).click();

  // Search across every task: matches in the interleaved order.
  await page.keyboard.press('Control+f');
  await page.keyboard.type('line 499999');
  await page.keyboard.press('Enter');
  await expect(page.locator('.log-search-status')).toHaveText(/^\d of 4$/);
  const found = await callContract(page, served, 'logs.interleaveSearch', {
    buildId,
    taskIds: TASKS,
    query: 'line 499999',
  });
  // The last turn of writes: api's 5,000 lines, then web's, worker's and db's.
  expect(found.result?.matches).toEqual([1_984_999, 1_989_999, 1_994_999, 1_999_999]);
});

test('a link to a line opened in a fresh page scrolls to that line and marks it', async ({ browser }) => {
  const page = await browser.newPage();
  try {
    // The gutter's number (from 1) is the link's.
    await page.goto(`${served.url}#build/${buildId}/web/123457`);
    const row = page.locator('.log-row[data-line="123456"]');
    await expect(row).toBeVisible();
    await expect(row).toHaveClass(/current/);
    await expect(row).toContainText('web line 123456');
    await expect(row.locator('.log-link')).toHaveAttribute('href', `#build/${buildId}/web/123457`);
    await page.screenshot({ path: `${SCREENS_DIR}/log-line-link.png` });

    // F8 jumps to the first error of the log shown.
    await page.goto(`${served.url}#build/${buildId}/${ERROR_TASK}/1`);
    await expect(page.locator('.log-row[data-line="0"]')).toHaveClass(/current/);
    await page.keyboard.press('F8');
    await expect(page.locator('.log-row.current')).toContainText(`line ${ERROR_LINE}: boom`);
  } finally {
    await page.close();
  }
});
