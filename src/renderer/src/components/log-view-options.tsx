import { useEffect, useRef } from 'react';
import { setLogPrefs, useLogView } from '../store/store';

interface LogViewOptionsProps {
  /** Jumps to the first error; null when the log has none to jump to (the button is then disabled). */
  onFirstError: (() => void) | null;
  /** The viewer that takes F8 (only the main one: side-by-side viewers share the page). */
  takesKeys: boolean;
}

/** Times and wrap on/off (kept for every log) and the jump to the first error (also F8). */
export function LogViewOptions({ onFirstError, takesKeys }: LogViewOptionsProps) {
  const showTimes = useLogView((state) => state.showTimes);
  const wrap = useLogView((state) => state.wrap);
  const jump = useRef(onFirstError);
  jump.current = onFirstError;
  useEffect(() => {
    if (!takesKeys) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'F8' || !jump.current) return;
      event.preventDefault();
      jump.current();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [takesKeys]);
  return (
    <>
      <button
        type="button"
        onClick={() => onFirstError?.()}
        disabled={!onFirstError}
        title="Jump to the first error (F8)"
        data-testid="log-first-error"
      >
        First error
      </button>
      <button type="button" aria-pressed={showTimes} onClick={() => setLogPrefs({ showTimes: !showTimes })}>
        Times
      </button>
      <button type="button" aria-pressed={wrap} onClick={() => setLogPrefs({ wrap: !wrap })}>
        Wrap
      </button>
    </>
  );
}
