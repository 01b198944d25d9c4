import { join } from 'node:path';
import { app, BrowserWindow, dialog, ipcMain, Menu, Notification, safeStorage, session } from 'electron';
import { defaultDataDir } from '../core/data-dir';
import { Engine } from '../core/engine';
import { guardUnhandledRejections } from '../core/fault-guard';
import { limitProcessMemory } from '../core/process-memory';
import { fileSecretStore } from '../core/settings/secret-store';
import type { SlipwayEvent } from '../shared/contract';
import { wireLifecycle } from './app-lifecycle';
import { appMenuTemplate } from './app-menu';
import { buildAttention } from './build-attention';
import { EVENT_CHANNEL, registerContractHandlers } from './contract-handlers';
import { wireDeepLinks } from './deep-link';
import { nativeDialogs } from './dialogs';
import { hardenContents, hardenSession } from './harden';
import { safeStorageCipher } from './safe-storage-cipher';
import { windowOptions } from './window-options';

// The engine runs in this process: keep its memory as flat as the CLI's (see process-memory.ts).
limitProcessMemory();

let window: BrowserWindow | null = null;
const currentWindow = () => window;
/** A slipway:// route that came before the window could show it. */
let pendingRoute: string | null = null;
const dataDir = defaultDataDir();
const engine = new Engine({
  dataDir,
  mode: 'electron',
  version: app.getVersion(),
  dialogs: nativeDialogs(dialog, currentWindow),
  secrets: fileSecretStore(dataDir, safeStorageCipher(safeStorage)),
});

function createWindow(): void {
  window = new BrowserWindow(windowOptions(join(__dirname, '../preload')));
  window.on('ready-to-show', () => window?.show());
  window.webContents.on('did-finish-load', () => {
    if (pendingRoute) showRoute(pendingRoute);
  });
  window.on('closed', () => {
    window = null;
  });
  if (process.env.ELECTRON_RENDERER_URL) void window.loadURL(process.env.ELECTRON_RENDERER_URL);
  else void window.loadFile(join(__dirname, '../renderer/index.html'));
}

/** Shows a route in the window (opening it when there is none), as the window's own links do. */
function showRoute(route: string): void {
  const shown = window;
  if (!shown || shown.webContents.isLoading()) {
    pendingRoute = route;
    if (!shown && app.isReady()) createWindow();
    return;
  }
  pendingRoute = null;
  shown.webContents.send(EVENT_CHANNEL, { type: 'window.route', hash: route } satisfies SlipwayEvent);
  if (shown.isMinimized()) shown.restore();
  shown.focus();
}

// One instance: a slipway:// address opened while the app runs goes to its window.
const firstInstance = wireDeepLinks(app, process.argv, showRoute);

// The engine is this process: a promise nobody handled fails the running builds, never the app.
guardUnhandledRejections((error) => {
  console.error(`Slipway: error ${error.code}: ${error.message}`);
  engine.failRunning(error);
});

registerContractHandlers(ipcMain, engine, currentWindow);
const attention = buildAttention(currentWindow, Notification);
engine.on('event', (event) => {
  window?.webContents.send(EVENT_CHANNEL, event);
  attention.onEvent(event);
});

// Every web contents (the window, and anything it might try to open) is hardened the moment it exists.
app.on('web-contents-created', (_event, contents) => hardenContents(contents));

void app.whenReady().then(() => {
  if (!firstInstance) return;
  hardenSession(session.defaultSession);
  Menu.setApplicationMenu(Menu.buildFromTemplate(appMenuTemplate(currentWindow)));
  createWindow();
});
wireLifecycle(app, {
  platform: process.platform,
  hasWindow: () => window !== null,
  createWindow,
  closeEngine: () => engine.close(),
});
