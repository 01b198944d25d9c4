import { describe, expect, it, vi } from 'vitest';

vi.mock('electron', () => ({}));

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildDir } from '../../src/core/builds/build-store';
import { Engine } from '../../src/core/engine';
import { SpoolWriter } from '../../src/core/logs/spool';
import { appMenuTemplate } from '../../src/main/app-menu';
import { nativeDialogs } from '../../src/main/dialogs';
import { hardenContents } from '../../src/main/harden';
import { tempDir } from '../support/fixtures';

describe('the window cannot be led away from the app', () => {
  it('denies navigation, redirects, webviews and new windows', () => {
    const listeners = new Map<string, (event: { preventDefault(): void }) => void>();
    let openHandler: (() => { action: string }) | undefined;
    hardenContents({
      on: ((name: string, listener: (event: { preventDefault(): void }) => void) => {
        listeners.set(name, listener);
      }) as never,
      setWindowOpenHandler: ((handler: () => { action: string }) => {
        openHandler = handler;
      }) as never,
    });
    for (const name of ['will-navigate', 'will-redirect', 'will-attach-webview']) {
      const event = { preventDefault: vi.fn() };
      listeners.get(name)?.(event);
      expect(event.preventDefault, name).toHaveBeenCalled();
    }
    expect(openHandler?.()).toEqual({ action: 'deny' });
  });
});

describe('the app menu', () => {
  it('shows the shortcuts the page answers, presses them in the page, and leaves the keys to the page', () => {
    const sendInputEvent = vi.fn();
    const template = appMenuTemplate(() => ({ webContents: { sendInputEvent } }) as never, false);
    const file = template.find((item) => item.label === 'File');
    const open = (
      (file?.submenu ?? []) as {
        label?: string;
        accelerator?: string;
        registerAccelerator?: boolean;
        click?: () => void;
      }[]
    )[0];
    expect(open).toMatchObject({ accelerator: 'CmdOrCtrl+O', registerAccelerator: false });
    open?.click?.();
    expect(sendInputEvent).toHaveBeenCalledWith({ type: 'keyDown', keyCode: 'O', modifiers: ['control'] });
  });
});

describe('the native dialogs', () => {
  it('give the chosen folder, and null when the user cancels', async () => {
    const dialog = {
      showOpenDialog: vi
        .fn()
        .mockResolvedValueOnce({ canceled: false, filePaths: ['/home/me/project'] })
        .mockResolvedValueOnce({ canceled: true, filePaths: [] }),
      showSaveDialog: vi.fn().mockResolvedValue({ canceled: false, filePath: '/home/me/build.log' }),
    };
    const dialogs = nativeDialogs(dialog as never, () => null);
    expect(await dialogs.openFolder()).toBe('/home/me/project');
    expect(await dialogs.openFolder()).toBeNull();
    expect(await dialogs.saveFile('x.log')).toBe('/home/me/build.log');
    expect(dialog.showSaveDialog.mock.calls[0]?.[0]).toMatchObject({ defaultPath: 'x.log' });
  });
});

describe('saving a log in the desktop window', () => {
  it('asks where with the save dialog and copies the whole log there', async () => {
    const data = await tempDir('slipway-main-save-');
    try {
      const spool = await SpoolWriter.open(buildDir(data.path, 'b1'), 'api');
      await spool.write([
        { text: 'STEP 1/1: FROM scratch', flags: 0 },
        { text: 'ok', flags: 0 },
      ]);
      await spool.close();
      const target = join(data.path, 'saved.log');
      const saveFile = vi.fn().mockResolvedValue(target);
      const engine = new Engine({
        dataDir: data.path,
        mode: 'electron',
        version: 'test',
        dialogs: { openFolder: async () => null, saveFile },
      });
      expect(await engine.call('logs.save', { buildId: 'b1', taskId: 'api' })).toEqual({
        path: target,
        downloadUrl: null,
      });
      expect(saveFile).toHaveBeenCalledWith('slipway-b1-api.log');
      expect(await readFile(target, 'utf8')).toBe('STEP 1/1: FROM scratch\nok\n');
      saveFile.mockResolvedValueOnce(null);
      expect(await engine.call('logs.save', { buildId: 'b1', taskId: 'api' })).toEqual({
        path: null,
        downloadUrl: null,
      });
    } finally {
      await data.cleanup();
    }
  });
});
