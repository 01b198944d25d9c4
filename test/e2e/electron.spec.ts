import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { _electron, expect, test } from '@playwright/test';
import { fixture, tempDir } from '../support/fixtures';
import { podmanMissing, startPodman } from '../support/podman';
import { dropFolder, SCREENS_DIR } from '../support/ui';

const require = createRequire(import.meta.url);

/** The Electron binary's path, or why there is none (its installer downloads it from outside npm). */
function electronBinary(): { path: string } | { missing: string } {
  try {
    const packageDir = dirname(require.resolve('electron/package.json'));
    const pathFile = join(packageDir, 'path.txt');
    if (!existsSync(pathFile))
      return { missing: "Electron's binary is not installed (node_modules/electron/path.txt is absent)" };
    const path = join(packageDir, 'dist', readFileSync(pathFile, 'utf8').trim());
    return existsSync(path) ? { path } : { missing: `Electron's binary is missing at ${path}` };
  } catch (error) {
    return { missing: `the electron package cannot be resolved: ${(error as Error).message}` };
  }
}

const binary = electronBinary();
const noDisplay = process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY;
const skipReason =
  'missing' in binary ? binary.missing : noDisplay ? 'no display (run it under xvfb-run)' : podmanMissing();

test('the Electron window launches, takes a dropped project and builds it', async () => {
  if (skipReason) console.log(`Skipping the Electron smoke test: ${skipReason}`);
  test.skip(skipReason !== null, skipReason ?? '');
  test.setTimeout(240_000);
  const podman = await startPodman();
  const project = await fixture('single');
  const dataHome = await tempDir('slipway-electron-data-');
  const app = await _electron.launch({
    executablePath: (binary as { path: string }).path,
    args: ['.', '--no-sandbox'],
    env: { ...process.env, DOCKER_HOST: podman.url, XDG_DATA_HOME: dataHome.path },
  });
  try {
    const page = await app.firstWindow();
    await expect(page.getByText('Drop a project folder')).toBeVisible();
    expect(await page.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');
    await dropFolder(page, pathToFileURL(project.path).href);
    await expect(page.getByTestId('task-main')).toBeVisible();
    await page.keyboard.press('Control+b');
    await expect(page.getByTestId('build-task-main')).toHaveAttribute('data-phase', 'done', { timeout: 180_000 });
    await page.screenshot({ path: `${SCREENS_DIR}/electron-build.png` });
  } finally {
    await app.close();
    await podman.stop();
    await project.cleanup();
    await dataHome.cleanup();
  }
});
