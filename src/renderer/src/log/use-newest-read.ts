import { useEffect, useRef } from 'react';

/** Whether the reader that asked is still wanted (its log still shown); a read for a gone one is dropped. */
export type StillWanted = () => boolean;

/**
 * Reads what `wantedKey` names, one read in flight at a time: when the wish moves meanwhile, only the
 * newest is read next, on the next frame. `logKey` names the log: a new one drops reads of the old.
 * A read that fails is left for the next wish (a log not written yet reads as nothing).
 */
export function useNewestRead(logKey: string, wantedKey: string, read: (stillWanted: StillWanted) => Promise<void>) {
  const readRef = useRef(read);
  readRef.current = read;
  const wanted = useRef(wantedKey);
  wanted.current = wantedKey;
  const state = useRef({ inFlight: false, readKey: '', alive: true });

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new log gets a new reader.
  useEffect(() => {
    const own = { inFlight: false, readKey: '', alive: true };
    state.current = own;
    return () => {
      own.alive = false;
    };
  }, [logKey]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: the keys stand for what is read.
  useEffect(() => {
    const own = state.current;
    const readWanted = async () => {
      if (own.inFlight || !own.alive || own.readKey === wanted.current) return;
      own.inFlight = true;
      const asked = wanted.current;
      try {
        await readRef.current(() => own.alive);
      } catch {
        // The next wish tries again.
      } finally {
        own.readKey = asked;
        own.inFlight = false;
      }
      if (own.alive && own.readKey !== wanted.current) requestAnimationFrame(() => void readWanted());
    };
    const frame = requestAnimationFrame(() => void readWanted());
    return () => cancelAnimationFrame(frame);
  }, [logKey, wantedKey]);
}
