import { useEffect, useState } from 'react';
import { formatCount } from '../format';
import type { SearchState } from '../log/use-log-search';

interface LogSearchBarProps {
  search: SearchState;
  compact: boolean;
  onQuery(query: string, regex: boolean): void;
  onNext(): void;
  onPrevious(): void;
}

function statusOf(search: SearchState): string {
  if (search.failure) return search.failure;
  if (search.busy) return 'Searching…';
  if (!search.query) return '';
  if (search.matches.length === 0) return 'No matches';
  return `${search.index + 1} of ${formatCount(search.matches.length)}${search.truncated ? '+' : ''}`;
}

/** The search field of a log: Enter searches (or goes to the next match), Shift+Enter goes back. */
export function LogSearchBar({ search, compact, onQuery, onNext, onPrevious }: LogSearchBarProps) {
  const [text, setText] = useState(search.query);
  const [regex, setRegex] = useState(search.regex);
  useEffect(() => setText(search.query), [search.query]);
  return (
    <form
      className="log-search"
      aria-label="Log search"
      onSubmit={(event) => {
        event.preventDefault();
        if (text !== search.query || regex !== search.regex) onQuery(text, regex);
        else onNext();
      }}
    >
      <input
        type="search"
        placeholder={compact ? 'Search' : 'Search the log (Ctrl+F)'}
        aria-label="Search the log"
        value={text}
        onChange={(event) => setText(event.target.value)}
        onKeyDown={(event) => {
          if (event.key === 'Enter' && event.shiftKey) {
            event.preventDefault();
            onPrevious();
          }
        }}
      />
      <button
        type="button"
        className={regex ? 'log-regex on' : 'log-regex'}
        aria-pressed={regex}
        title="Search with a regular expression"
        onClick={() => {
          setRegex(!regex);
          if (text) onQuery(text, !regex);
        }}
      >
        .*
      </button>
      <button type="button" aria-label="Previous match" onClick={onPrevious} disabled={search.matches.length === 0}>
        ↑
      </button>
      <button type="button" aria-label="Next match" onClick={onNext} disabled={search.matches.length === 0}>
        ↓
      </button>
      <span className={search.failure ? 'log-search-status failure' : 'log-search-status'} role="status">
        {statusOf(search)}
      </span>
    </form>
  );
}
