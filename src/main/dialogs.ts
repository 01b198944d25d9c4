import type { BrowserWindow, Dialog } from 'electron';
import type { ShellDialogs } from '../core/engine';

/** The native dialogs the engine asks for (engine option `dialogs`), attached to the window. */
export function nativeDialogs(
  dialog: Pick<Dialog, 'showOpenDialog' | 'showSaveDialog'>,
  window: () => BrowserWindow | null,
): ShellDialogs {
  return {
    async openFolder() {
      const options = { title: 'Open a project folder', properties: ['openDirectory' as const] };
      const parent = window();
      const result = parent ? await dialog.showOpenDialog(parent, options) : await dialog.showOpenDialog(options);
      return result.canceled ? null : (result.filePaths[0] ?? null);
    },
    async saveFile(suggestedName) {
      const options = { title: 'Save the log', defaultPath: suggestedName };
      const parent = window();
      const result = parent ? await dialog.showSaveDialog(parent, options) : await dialog.showSaveDialog(options);
      return result.canceled ? null : (result.filePath ?? null);
    },
  };
}
