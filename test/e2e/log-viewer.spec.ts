import { expect, test } from '@playwright/test';
import { BuildRecordWriter, buildDir } from '../../src/core/builds/build-store';
import { SpoolWriter } from '../../src/core/logs/spool';
import type { Build } from '../../src/shared/domain';
import { tempDir } from '../support/fixtures';
import { type ServedSlipway, serveSlipway } from '../support/serve';
import { SCREENS_DIR } from '../support/ui';

const TOTAL_LINES = 1_000_000;
const LINES_PER_WRITE = 20_000;
const MAX_DOM_ROWS = 500;
const MAX_HEAP_BYTES = 150 * 1024 * 1024;

let served: ServedSlipway;
let dataDir: { path: string; cleanup(): Promise<void> };
let spool: SpoolWriter | null = null;
const buildId = '20261126-120000-abcdef';

/** A build as a running engine leaves it on disk: its log grows while the window follows it. */
function runningBuild(): Build {
  return {
    id: buildId,
    projectPath: '/projects/endless',
    target: { name: 'default', kind: 'docker', endpoints: [{ region: 'local', url: 'unix:///nowhere.sock' }] },
    region: 'local',
    reason: 'a log written by the test',
    startedAt: new Date().toISOString(),
    finishedAt: null,
    status: 'running',
    tasks: [
      {
        task: { id: 'main', service: 'main', contextPath: '/projects/endless', dockerfile: 'Dockerfile' },
        state: { phase: 'building', step: 1, steps: 1 },
        tag: 'endless',
        scan: null,
        logLines: 0,
      },
    ],
    error: null,
  };
}

test.beforeAll(async () => {
  dataDir = await tempDir('slipway-ui-log-');
  await new BuildRecordWriter(buildDir(dataDir.path, buildId)).save(runningBuild());
  served = await serveSlipway(['--data-dir', dataDir.path]);
});

test.afterAll(async () => {
  await spool?.close();
  await served?.stop();
  await dataDir?.cleanup();
});

test('the log viewer follows a million appended lines with under 500 rows in the page and a small heap', async ({
  page,
}) => {
  test.setTimeout(180_000);
  await page.goto(`${served.url}#/build/${buildId}/log/main`);
  await expect(page.getByTestId('log-scroller')).toBeVisible();

  // Frame gaps while the log grows: how smooth the page stays.
  await page.evaluate(`(() => {
    window.__frames = [];
    const tick = (time) => { window.__frames.push(time); if (!window.__stopFrames) requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
  })()`);

  // The writer stays open for the late lines below; afterAll closes it whatever happens.
  const writer = await SpoolWriter.open(buildDir(dataDir.path, buildId), 'main');
  spool = writer;
  let maxRows = 0;
  for (let written = 0; written < TOTAL_LINES; written += LINES_PER_WRITE) {
    const lines = Array.from({ length: LINES_PER_WRITE }, (_, i) => {
      const n = written + i;
      return {
        text: n % 1000 === 0 ? `STEP ${n / 1000 + 1}/1000: \u001b[32mline ${n}\u001b[0m` : `line ${n}`,
        flags: 0,
      };
    });
    await writer.write(lines);
    if ((written / LINES_PER_WRITE) % 5 === 0) {
      maxRows = Math.max(maxRows, await page.locator('.log-row').count());
    }
  }

  const frames = (await page.evaluate('(window.__stopFrames = true, window.__frames)')) as number[];
  const gapsMs = frames.slice(1).map((time, i) => time - (frames[i] as number));
  const longestGapMs = Math.max(...gapsMs);
  console.log(
    `log viewer while a million lines arrived: ${frames.length} frames, longest gap ${longestGapMs.toFixed(0)} ms`,
  );
  expect(frames.length).toBeGreaterThan(10);

  // Following: the last line arrives at the bottom without the user doing anything.
  await expect(page.getByTestId('log-line-count')).toHaveText('1,000,000 lines', { timeout: 30_000 });
  await expect(page.locator(`.log-row[data-line="${TOTAL_LINES - 1}"]`)).toContainText(`line ${TOTAL_LINES - 1}`, {
    timeout: 15_000,
  });
  maxRows = Math.max(maxRows, await page.locator('.log-row').count());
  expect(maxRows).toBeGreaterThan(10);
  expect(maxRows).toBeLessThan(MAX_DOM_ROWS);

  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = await cdp.send('Runtime.getHeapUsage');
  console.log(
    `log viewer at ${TOTAL_LINES} lines: ${maxRows} rows at most, JS heap ${(usedSize / 2 ** 20).toFixed(1)} MiB`,
  );
  expect(usedSize).toBeLessThan(MAX_HEAP_BYTES);
  await page.screenshot({ path: `${SCREENS_DIR}/log-million.png` });

  // Scrolling up stops following; the middle of the log is read on demand.
  const scroller = page.getByTestId('log-scroller');
  await scroller.evaluate((element) => {
    element.scrollTop = element.scrollHeight / 2;
  });
  await expect(page.getByRole('button', { name: /Follow the tail/ })).toBeVisible();
  await expect(page.locator('.log-row').first()).toHaveAttribute('data-line', /^(4|5)\d{5}$/);
  const readingAt = await page.locator('.log-row').first().getAttribute('data-line');

  // New lines do not pull a reader away from where they are reading; Follow takes them to the tail.
  await writer.write(Array.from({ length: 5000 }, (_, i) => ({ text: `late line ${i}`, flags: 0 })));
  await expect(page.getByTestId('log-line-count')).toHaveText('1,005,000 lines', { timeout: 15_000 });
  await expect(page.locator('.log-row').first()).toHaveAttribute('data-line', readingAt as string);
  await page.getByRole('button', { name: /Follow the tail/ }).click();
  await expect(page.locator('.log-row[data-line="1004999"]')).toContainText('late line 4999');

  // A turn of the wheel upwards stops following.
  await page.getByTestId('log-scroller').hover();
  await page.mouse.wheel(0, -400);
  await expect(page.getByRole('button', { name: /Follow the tail/ })).toBeVisible();
});
