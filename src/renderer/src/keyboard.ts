import { useEffect } from 'react';
import { chooseFolder, closeFolderPicker, startBuild, useStore } from './store/store';

/** Ctrl/Cmd+O opens a folder, Ctrl/Cmd+B builds, Ctrl/Cmd+F searches the open log, Esc closes a dialog. */
export function useKeyboard(): void {
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const mod = event.ctrlKey || event.metaKey;
      const state = useStore.getState();
      if (event.key === 'Escape' && state.folderPickerOpen) {
        event.preventDefault();
        closeFolderPicker();
      } else if (mod && event.key.toLowerCase() === 'o') {
        event.preventDefault();
        void chooseFolder();
      } else if (mod && event.key.toLowerCase() === 'b') {
        event.preventDefault();
        if (state.project && state.build?.status !== 'running') void startBuild();
      } else if (mod && event.key.toLowerCase() === 'f') {
        const search = document.querySelector<HTMLInputElement>('.log-search input');
        if (search) {
          event.preventDefault();
          search.focus();
        }
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}
