import { join } from 'node:path';
import { app, BrowserWindow, ipcMain, shell } from 'electron';
import { defaultDataDir } from '../core/data-dir';
import { Engine } from '../core/engine';
import { requestNames } from '../shared/contract';
import { SlipwayError, toErrorInfo } from '../shared/errors';
import { isTrustedSender } from './trusted-sender';
import { windowOptions } from './window-options';

let window: BrowserWindow | null = null;
const engine = new Engine({ dataDir: defaultDataDir(), mode: 'electron', version: app.getVersion() });

function createWindow(): void {
  window = new BrowserWindow(windowOptions(join(__dirname, '../preload')));
  window.on('ready-to-show', () => window?.show());
  window.on('closed', () => {
    window = null;
  });
  window.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  window.webContents.on('will-navigate', (event) => event.preventDefault());
  if (process.env.ELECTRON_RENDERER_URL) void window.loadURL(process.env.ELECTRON_RENDERER_URL);
  else void window.loadFile(join(__dirname, '../renderer/index.html'));
}

for (const name of requestNames) {
  ipcMain.handle(`slipway:${name}`, async (event, input: unknown) => {
    if (!isTrustedSender(event, window)) throw new SlipwayError('E_BAD_INPUT', 'Refused: IPC from an untrusted sender');
    try {
      return await engine.call(name, input);
    } catch (error) {
      // Electron passes only the message across; keep the code in it.
      const info = toErrorInfo(error);
      throw new Error(JSON.stringify(info));
    }
  });
}
engine.on('event', (event) => window?.webContents.send('slipway:event', event));

app.on('web-contents-created', (_event, contents) => {
  contents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
});

void app.whenReady().then(createWindow);
app.on('window-all-closed', () => {
  void engine.close().then(() => app.quit());
});
