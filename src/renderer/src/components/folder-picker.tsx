import { useCallback, useEffect, useRef, useState } from 'react';
import { errorCode, errorMessage } from '../format';
import { NewestOnly } from '../log/newest-only';
import { closeFolderPicker, openProject } from '../store/store';
import { slipway } from '../transport';
import './folder-picker.css';

interface Listing {
  path: string;
  parent: string | null;
  folders: string[];
}

/** Browser mode's folder dialog: the engine lists folders (folders.list); a path field goes anywhere. */
export function FolderPicker() {
  const [listing, setListing] = useState<Listing | null>(null);
  const [path, setPath] = useState('');
  const [failure, setFailure] = useState<string | null>(null);
  const field = useRef<HTMLInputElement>(null);
  // Listings can arrive out of order (the home folder's after one the user asked for): only the latest
  // request's answer is shown, and the first one never overwrites a path the user has started typing.
  const requests = useRef(new NewestOnly()).current;
  const typed = useRef(false);

  const list = useCallback(
    async (target?: string) => {
      const isNewest = requests.take();
      try {
        const result = await slipway['folders.list'](target ? { path: target } : {});
        if (!isNewest()) return;
        setListing(result);
        if (target !== undefined || !typed.current) setPath(result.path);
        setFailure(null);
      } catch (error) {
        if (!isNewest()) return;
        setFailure(`${errorCode(error)}: ${errorMessage(error)}`);
      }
    },
    [requests],
  );

  useEffect(() => {
    void list();
    field.current?.focus();
  }, [list]);

  const join = (name: string) => `${listing?.path.replace(/\/$/, '') ?? ''}/${name}`;

  return (
    <div className="folder-picker-backdrop">
      <div className="folder-picker" role="dialog" aria-modal="true" aria-label="Choose a project folder">
        <h2>Choose a project folder</h2>
        <form
          className="folder-picker-path"
          onSubmit={(event) => {
            event.preventDefault();
            void list(path);
          }}
        >
          <input
            ref={field}
            aria-label="Folder path"
            value={path}
            onChange={(event) => {
              typed.current = true;
              setPath(event.target.value);
            }}
            spellCheck={false}
          />
          <button type="submit">Go</button>
        </form>
        {failure ? <p className="calm-note">{failure}</p> : null}
        <ul className="folder-picker-list" aria-label="Folders">
          {listing?.parent ? (
            <li>
              <button type="button" onClick={() => void list(listing.parent as string)}>
                ↰ Parent folder
              </button>
            </li>
          ) : null}
          {listing?.folders.map((name) => (
            <li key={name}>
              <button type="button" onClick={() => void list(join(name))}>
                <FolderIcon /> {name}
              </button>
            </li>
          ))}
          {listing && listing.folders.length === 0 ? <li className="muted">No folders in here.</li> : null}
        </ul>
        <div className="folder-picker-actions">
          <button type="button" onClick={closeFolderPicker}>
            Cancel
          </button>
          <button
            type="button"
            className="primary"
            disabled={!path.trim()}
            onClick={() => void openProject(path.trim())}
          >
            Open this folder
          </button>
        </div>
      </div>
    </div>
  );
}

/** Drawn, not an emoji: many Linux desktops have no colour emoji font. */
function FolderIcon() {
  return (
    <svg className="folder-icon" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
      <path d="M1.5 3.5h4l1.5 1.5h7.5v8h-13z" fill="currentColor" opacity="0.85" />
    </svg>
  );
}
