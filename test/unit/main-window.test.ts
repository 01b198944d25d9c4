import { beforeEach, describe, expect, it, vi } from 'vitest';

// Electron cannot run here (no binary); its API is mocked so main's wiring can be checked as it is.
const electron = vi.hoisted(() => {
  const handlers = new Map<string, (event: unknown, input: unknown) => Promise<unknown>>();
  const windows: { options: Record<string, unknown>; webContents: { send: ReturnType<typeof vi.fn> } }[] = [];
  class BrowserWindow {
    webContents = { send: vi.fn() };
    constructor(readonly options: Record<string, unknown>) {
      windows.push(this);
    }
    on = vi.fn();
    loadFile = vi.fn(async () => undefined);
    loadURL = vi.fn(async () => undefined);
    setProgressBar = vi.fn();
    isFocused = () => true;
  }
  class Notification {
    static isSupported = () => false;
    show = vi.fn();
    on = vi.fn();
  }
  return {
    handlers,
    windows,
    module: {
      app: {
        getVersion: () => '0.0.0-test',
        whenReady: () => Promise.resolve(),
        isReady: () => true,
        on: vi.fn(),
        requestSingleInstanceLock: () => true,
        setAsDefaultProtocolClient: () => true,
        quit: vi.fn(),
      },
      BrowserWindow,
      Notification,
      ipcMain: { handle: (channel: string, handler: never) => handlers.set(channel, handler) },
      dialog: { showOpenDialog: vi.fn(), showSaveDialog: vi.fn() },
      safeStorage: { isEncryptionAvailable: () => false, encryptString: vi.fn(), decryptString: vi.fn() },
      Menu: { buildFromTemplate: vi.fn((template) => template), setApplicationMenu: vi.fn() },
      session: {
        defaultSession: { webRequest: { onHeadersReceived: vi.fn() }, setPermissionRequestHandler: vi.fn() },
      },
    },
  };
});
vi.mock('electron', () => ({ ...electron.module, default: electron.module }));

import { requestNames } from '../../src/shared/contract';

describe('the Electron main process', () => {
  beforeEach(async () => {
    if (electron.windows.length === 0) {
      await import('../../src/main/index');
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  });

  it('opens one window with the hardened options: isolated, sandboxed, no Node in the page', () => {
    expect(electron.windows).toHaveLength(1);
    const preferences = electron.windows[0]?.options.webPreferences as Record<string, unknown>;
    expect(preferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
    expect(String(preferences.preload)).toMatch(/preload[/\\]index\.cjs$/);
  });

  it('answers every request of the contract over IPC, and nothing else', () => {
    expect([...electron.handlers.keys()].sort()).toEqual(requestNames.map((name) => `slipway:${name}`).sort());
  });

  it('refuses a request from a sender that is not its window', async () => {
    const handler = electron.handlers.get('slipway:app.info');
    const foreign = { sender: {}, senderFrame: { url: 'file:///app/index.html' } };
    await expect(handler?.(foreign, {})).resolves.toEqual({
      error: { code: 'E_BAD_INPUT', message: 'Refused app.info: IPC from an untrusted sender' },
    });
  });

  it('refuses its own window once it shows a page that is not the app', async () => {
    const handler = electron.handlers.get('slipway:app.info');
    const navigated = { sender: electron.windows[0]?.webContents, senderFrame: { url: 'https://attacker.example/' } };
    await expect(handler?.(navigated, {})).resolves.toMatchObject({ error: { message: /untrusted sender/ } });
  });

  it('refuses its own window showing another local file', async () => {
    const handler = electron.handlers.get('slipway:app.info');
    const elsewhere = {
      sender: electron.windows[0]?.webContents,
      senderFrame: { url: 'file:///home/me/Downloads/evil.html' },
    };
    await expect(handler?.(elsewhere, {})).resolves.toMatchObject({ error: { message: /untrusted sender/ } });
  });

  it('answers its own window', async () => {
    const handler = electron.handlers.get('slipway:app.info');
    const own = {
      sender: electron.windows[0]?.webContents,
      senderFrame: { url: 'file:///app/out/renderer/index.html' },
    };
    await expect(handler?.(own, {})).resolves.toMatchObject({ result: { mode: 'electron', version: '0.0.0-test' } });
  });

  it('refuses input the schema does not allow, with E_BAD_INPUT', async () => {
    const handler = electron.handlers.get('slipway:logs.read');
    const own = {
      sender: electron.windows[0]?.webContents,
      senderFrame: { url: 'file:///app/out/renderer/index.html' },
    };
    // The error travels as data in the answer's envelope, its code intact (not JSON inside a message).
    const negative = await handler?.(own, { buildId: 'b', taskId: 't', fromLine: -1, count: 10 });
    expect(negative).toMatchObject({ error: { code: 'E_BAD_INPUT' } });
    expect(negative).not.toHaveProperty('result');
    const tooMany = await handler?.(own, { buildId: 'b', taskId: 't', fromLine: 0, count: 1_000_000 });
    expect(tooMany).toMatchObject({ error: { code: 'E_BAD_INPUT' } });
  });

  it('puts the CSP on every response and grants the page no permission', () => {
    const { webRequest, setPermissionRequestHandler } = electron.module.session.defaultSession;
    const onHeaders = webRequest.onHeadersReceived.mock.calls[0]?.[0] as (
      details: { responseHeaders: Record<string, string[]> },
      callback: (response: { responseHeaders: Record<string, string[]> }) => void,
    ) => void;
    const callback = vi.fn();
    onHeaders({ responseHeaders: {} }, callback);
    const csp = callback.mock.calls[0]?.[0].responseHeaders['Content-Security-Policy'][0] as string;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("object-src 'none'");
    const permission = setPermissionRequestHandler.mock.calls[0]?.[0] as (
      contents: unknown,
      permission: string,
      callback: (granted: boolean) => void,
    ) => void;
    const granted = vi.fn();
    permission({}, 'media', granted);
    expect(granted).toHaveBeenCalledWith(false);
  });
});
