import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { errorCode, errorMessage } from '../format';
import { NewestOnly } from './newest-only';

const SEARCH_LIMIT = 10_000;

export interface SearchState {
  query: string;
  regex: boolean;
  matches: number[];
  truncated: boolean;
  index: number;
  failure: string | null;
  busy: boolean;
}

const noSearch: SearchState = {
  query: '',
  regex: false,
  matches: [],
  truncated: false,
  index: -1,
  failure: null,
  busy: false,
};

export interface LogSearch {
  search: SearchState;
  /** What to mark in the rows in view. */
  highlight: RegExp | null;
  run(query: string, regex: boolean): Promise<void>;
  /** Moves to the next (1) or previous (-1) match. */
  step(delta: number): void;
}

/** Runs one search on the engine: the matching lines (or positions, in the interleaved log), in order. */
export type LogFinder = (
  query: string,
  regex: boolean,
  limit: number,
) => Promise<{ matches: number[]; truncated: boolean }>;

/**
 * Searches a log on the engine (logs.search, or `find`) and walks its matches. `firstLineInView` picks
 * the first match to show: the first at or after what the reader is looking at. `show` brings a match
 * into view. `logKey` names the log: a new one starts without a search.
 */
export function useLogSearch(
  logKey: string,
  find: LogFinder,
  firstLineInView: () => number,
  show: (line: number) => void,
): LogSearch {
  const [search, setSearch] = useState<SearchState>(noSearch);
  // Each search (and each new log) takes a number; only the latest one's answer is shown, so a slow
  // answer to an earlier query never replaces a later one's.
  const searches = useRef(new NewestOnly()).current;
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new log starts without a search.
  useEffect(() => {
    searches.drop();
    setSearch(noSearch);
  }, [logKey]);

  const run = useCallback(
    async (query: string, regex: boolean) => {
      const isNewest = searches.take();
      if (!query) {
        setSearch({ ...noSearch, regex });
        return;
      }
      setSearch((current) => ({ ...current, query, regex, busy: true }));
      try {
        const result = await find(query, regex, SEARCH_LIMIT);
        if (!isNewest()) return;
        const from = firstLineInView();
        const first = result.matches.findIndex((line) => line >= from);
        const index = result.matches.length === 0 ? -1 : first === -1 ? 0 : first;
        setSearch({
          query,
          regex,
          matches: result.matches,
          truncated: result.truncated,
          index,
          failure: null,
          busy: false,
        });
        const line = result.matches[index];
        if (line !== undefined) show(line);
      } catch (error) {
        if (!isNewest()) return;
        setSearch({ ...noSearch, query, regex, failure: `${errorCode(error)}: ${errorMessage(error)}` });
      }
    },
    [find, firstLineInView, show, searches],
  );

  const step = (delta: number) => {
    if (search.matches.length === 0) return;
    const index = (search.index + delta + search.matches.length) % search.matches.length;
    setSearch((current) => ({ ...current, index }));
    show(search.matches[index] as number);
  };

  const highlight = useMemo(() => highlightPattern(search), [search]);
  return { search, highlight, run, step };
}

/** What to mark in the rows in view, matching the engine's search: case-sensitive, literal or a regex. */
function highlightPattern(search: SearchState): RegExp | null {
  if (!search.query || search.failure) return null;
  try {
    return new RegExp(search.regex ? search.query : search.query.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g');
  } catch {
    return null;
  }
}
