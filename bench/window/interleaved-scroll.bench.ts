/**
 * bench/window: how long the window takes to show lines after a jump of the scrollbar, in the
 * interleaved log of 2,000,000 lines over 4 tasks and in one task's log of 500,000 of them, in
 * Chromium over browser mode. Each jump goes to a fixed pseudo-random point; the time runs from the
 * scroll until every row in view holds its line. Prints the median, 95th percentile and worst of each,
 * against the aim of 100 ms. BENCH_JUMPS changes the number of jumps.
 */
import { expect, type Page, test } from '@playwright/test';
import { tempDir } from '../../test/support/fixtures';
import { writeInterleavedBuild } from '../../test/support/interleaved-logs';
import { type ServedSlipway, serveSlipway } from '../../test/support/serve';

const TASKS = ['api', 'web', 'worker', 'db'];
const LINES_PER_TASK = 500_000;
const JUMPS = Number(process.env.BENCH_JUMPS ?? 40);
const AIM_MS = 100;
const buildId = '20261201-130000-bench';

let served: ServedSlipway;
let dataDir: { path: string; cleanup(): Promise<void> };

test.beforeAll(async () => {
  test.setTimeout(300_000);
  dataDir = await tempDir('slipway-bench-window-');
  await writeInterleavedBuild(dataDir.path, buildId, {
    tasks: TASKS,
    linesPerTask: LINES_PER_TASK,
    linesPerWrite: 5000,
    error: { task: 'worker', line: 1 },
  });
  served = await serveSlipway(['--data-dir', dataDir.path]);
});

test.afterAll(async () => {
  await served?.stop();
  await dataDir?.cleanup();
});

/** Jumps the scrollbar to each fraction and answers the ms until the rows in view all show their lines. */
async function jumps(page: Page, fractions: number[]): Promise<number[]> {
  return page.getByTestId('log-scroller').evaluate(async (element, points) => {
    // Runs in the page; the bench's own types are Node's.
    const { requestAnimationFrame } = globalThis as unknown as { requestAnimationFrame(run: () => void): void };
    const frame = () => new Promise<void>((resolve) => requestAnimationFrame(() => resolve()));
    const firstText = () => element.querySelector('.log-row .log-text')?.textContent ?? null;
    // Every row in view holds its line (this log has no empty lines): not only drawn, read.
    const complete = () => {
      const texts = [...element.querySelectorAll('.log-row')].map((row) => row.querySelector('.log-text')?.textContent);
      return texts.length > 0 && texts.every((text) => text);
    };
    const times: number[] = [];
    for (const point of points) {
      const before = firstText();
      const started = performance.now();
      element.scrollTop = (element.scrollHeight - element.clientHeight) * point;
      while (firstText() === before || !complete()) await frame();
      times.push(performance.now() - started);
      await frame();
    }
    return times;
  }, fractions);
}

function summary(name: string, times: number[]): string {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  const within = times.filter((ms) => ms < AIM_MS).length;
  return `${name}: ${times.length} jumps, median ${at(0.5).toFixed(0)} ms, p95 ${at(0.95).toFixed(0)} ms, worst ${at(1).toFixed(0)} ms; ${within} of ${times.length} under ${AIM_MS} ms`;
}

test('lines show soon after a jump of the scrollbar, in the interleaved log and in one task log', async ({ page }) => {
  test.setTimeout(300_000);
  let seed = 11;
  const fractions = Array.from({ length: JUMPS }, () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return (seed % 10_000) / 10_000;
  });

  await page.goto(`${served.url}#/build/${buildId}/log/+`);
  await expect(page.getByTestId('log-line-count')).toHaveText('2,000,000 lines');
  await expect(page.locator('.log-row[data-task]').first()).toBeVisible();
  const interleaved = await jumps(page, fractions);

  await page.goto(`${served.url}#/build/${buildId}/log/web`);
  await expect(page.getByTestId('log-line-count')).toHaveText('500,000 lines');
  await expect(page.locator('.log-row').first()).toBeVisible();
  const single = await jumps(page, fractions);

  console.log(summary('interleaved log, 2,000,000 lines of 4 tasks', interleaved));
  console.log(summary('one task log, 500,000 lines (the baseline)', single));
  console.log(
    `load average while measuring: ${(await import('node:os'))
      .loadavg()
      .map((n) => n.toFixed(1))
      .join(' ')}`,
  );
  expect(interleaved.length).toBe(JUMPS);
});
