import { useState } from 'react';
import { droppedPaths } from '../drop';
import { chooseFolder, notify, openProject, useStore } from '../store/store';
import './drop-zone.css';

/** Opens the folder a drop names, or says calmly why it cannot. */
export function openDropped(event: React.DragEvent): void {
  event.preventDefault();
  const path = droppedPaths(event.dataTransfer, window.slipwayFiles?.pathForFile)[0];
  if (path) void openProject(path);
  else
    notify(
      'This browser did not say where the dropped folder is. Choose it with the folder picker instead, or drop it from a file manager.',
    );
}

/** The big target of the Start screen: drop a project folder on it, or click it to choose one. */
export function DropZone() {
  const [over, setOver] = useState(false);
  const opening = useStore((state) => state.opening);
  const onDrop = (event: React.DragEvent) => {
    event.stopPropagation();
    setOver(false);
    openDropped(event);
  };
  return (
    <button
      type="button"
      className={`drop-zone${over ? ' over' : ''}`}
      data-testid="drop-zone"
      onClick={() => void chooseFolder()}
      onDragOver={(event) => {
        event.preventDefault();
        event.dataTransfer.dropEffect = 'copy';
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={onDrop}
      disabled={opening}
    >
      <span className="drop-zone-icon" aria-hidden="true">
        ⤓
      </span>
      <span className="drop-zone-title">{opening ? 'Opening…' : 'Drop a project folder'}</span>
      <span className="drop-zone-hint">or click to choose one (Ctrl+O)</span>
    </button>
  );
}
