import { useEffect } from 'react';
import { openDropped } from './components/drop-zone';
import { FolderPicker } from './components/folder-picker';
import { NoticeList } from './components/notice-list';
import { TopBar } from './components/top-bar';
import { useKeyboard } from './keyboard';
import { BuildScreen } from './screens/build-screen';
import { HistoryScreen } from './screens/history-screen';
import { ProjectScreen } from './screens/project-screen';
import { SettingsScreen } from './screens/settings-screen';
import { StartScreen } from './screens/start-screen';
import { initialize, useStore } from './store/store';
import { useBuildAttention } from './timeline/use-build-attention';
import './app.css';

export function App() {
  const screen = useStore((state) => state.screen);
  const pickerOpen = useStore((state) => state.folderPickerOpen);
  useEffect(() => {
    void initialize();
  }, []);
  useKeyboard();
  useBuildAttention();
  return (
    // A folder dropped anywhere opens, whatever the screen; the Start screen's drop zone is only the obvious place.
    // biome-ignore lint/a11y/noStaticElementInteractions: drops have no keyboard form; Ctrl+O is that path.
    <div
      className="app"
      onDragOver={(event) => {
        if (event.dataTransfer.types.includes('Files') || event.dataTransfer.types.includes('text/uri-list')) {
          event.preventDefault();
        }
      }}
      onDrop={openDropped}
    >
      <TopBar />
      <NoticeList />
      <main className="screen">
        {screen === 'start' ? <StartScreen /> : null}
        {screen === 'project' ? <ProjectScreen /> : null}
        {screen === 'build' ? <BuildScreen /> : null}
        {screen === 'history' ? <HistoryScreen /> : null}
        {screen === 'settings' ? <SettingsScreen /> : null}
      </main>
      {pickerOpen ? <FolderPicker /> : null}
    </div>
  );
}
