import type { BrowserWindow, MenuItemConstructorOptions } from 'electron';

/**
 * The window's keyboard shortcuts are the one way commands reach the page (the preload exposes the
 * contract and nothing else), so a menu item presses its shortcut in the page. The accelerators are
 * shown but not registered, so the keys themselves also go straight to the page.
 */
function press(window: () => BrowserWindow | null, key: string): () => void {
  return () => {
    const contents = window()?.webContents;
    if (!contents) return;
    const modifiers = [process.platform === 'darwin' ? 'meta' : 'control'] as ('meta' | 'control')[];
    contents.sendInputEvent({ type: 'keyDown', keyCode: key, modifiers });
    contents.sendInputEvent({ type: 'keyUp', keyCode: key, modifiers });
  };
}

/** The app menu: File (open a folder, build), Edit, View, Window, with the shortcuts the page answers. */
export function appMenuTemplate(window: () => BrowserWindow | null, isMac = process.platform === 'darwin') {
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        {
          label: 'Open Project Folder…',
          accelerator: 'CmdOrCtrl+O',
          registerAccelerator: false,
          click: press(window, 'O'),
        },
        { label: 'Build', accelerator: 'CmdOrCtrl+B', registerAccelerator: false, click: press(window, 'B') },
        { type: 'separator' },
        isMac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    {
      label: 'Edit',
      submenu: [
        { role: 'undo' },
        { role: 'redo' },
        { type: 'separator' },
        { role: 'cut' },
        { role: 'copy' },
        { role: 'paste' },
        { role: 'selectAll' },
        { type: 'separator' },
        { label: 'Find in Log', accelerator: 'CmdOrCtrl+F', registerAccelerator: false, click: press(window, 'F') },
      ],
    },
    {
      label: 'View',
      submenu: [
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    { role: 'windowMenu' },
  ];
  return template;
}
