import type { ReactNode, RefObject } from 'react';
import type { FollowTail } from '../log/use-follow-tail';
import type { VirtualRows } from '../log/use-virtual-rows';

interface LogScrollerProps {
  scroller: RefObject<HTMLDivElement | null>;
  view: VirtualRows;
  tail: FollowTail;
  /** Rows are wrapped: at the end they sit on the bottom edge (they are taller than a row's share). */
  wrap: boolean;
  atEnd: boolean;
  /** What the log says when it has no rows yet, else null. */
  empty: string | null;
  children: ReactNode;
}

/**
 * The scrolling part of a log viewer: a scrollbar as tall as every row, and only the rows in view
 * drawn in a pane that stays put; the Follow button when the reader has left the tail.
 */
export function LogScroller({ scroller, view, tail, wrap, atEnd, empty, children }: LogScrollerProps) {
  const bottomAligned = atEnd && wrap;
  return (
    <>
      {/* biome-ignore lint/a11y/noStaticElementInteractions: wheel and keys on the log decide whether it follows. */}
      <div
        className="log-scroller"
        ref={scroller}
        onScroll={tail.onScroll}
        onWheel={tail.onWheel}
        onKeyDown={tail.onKeyDown}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the log scrolls with the keyboard once focused.
        tabIndex={0}
        data-testid="log-scroller"
      >
        <div className="log-pane" style={{ height: view.viewportPx }}>
          <div
            className={bottomAligned ? 'log-rows at-end' : 'log-rows'}
            style={bottomAligned ? undefined : { transform: `translateY(${-view.offsetPx}px)` }}
          >
            {empty === null ? children : <p className="log-empty">{empty}</p>}
          </div>
        </div>
        <div style={{ height: view.contentPx - view.viewportPx }} />
      </div>
      {!tail.following && view.contentPx > view.viewportPx ? (
        <button type="button" className="log-follow" onClick={tail.follow}>
          ↓ Follow the tail
        </button>
      ) : null}
    </>
  );
}
