import { type RefObject, useCallback, useLayoutEffect, useRef, useState } from 'react';

/** Every row is one line high, so the row under any scroll offset is a division away. */
export const ROW_PX = 18;
/** Browsers cap an element's height (Chromium near 33.5 million px); past this, the scrollbar is scaled. */
const MAX_SCROLL_PX = 8_000_000;

export interface VirtualRows {
  viewportPx: number;
  /** Rows that fit in the viewport, plus the one cut at its bottom. */
  visibleRows: number;
  /** Height of the scrolled content: the rows', or MAX_SCROLL_PX when they are more. */
  contentPx: number;
  /** True when the scrollbar stands for more rows than its pixels (contentPx is capped). */
  scaled: boolean;
  firstRow: number;
  /** How far the first row is scrolled out of view, in pixels. */
  offsetPx: number;
  /** The scroll offset that shows `row` first. */
  scrollTopForRow(row: number): number;
  /** The first row shown at scroll offset `top`. */
  rowAt(top: number): number;
  /** Scrolls by program; the scroll event it fires is not taken for the user's. */
  scrollTo(top: number): void;
  /** Reads a scroll event; true when the user made it. */
  onScrolled(): boolean;
}

/** The rows of a scroller that holds `rows` rows of ROW_PX, of which only those in view are drawn. */
export function useVirtualRows(scroller: RefObject<HTMLDivElement | null>, rows: number): VirtualRows {
  const [viewportPx, setViewportPx] = useState(400);
  const [scrollTop, setScrollTop] = useState(0);
  const programmatic = useRef(false);

  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const observer = new ResizeObserver(() => setViewportPx(element.clientHeight));
    observer.observe(element);
    setViewportPx(element.clientHeight);
    return () => observer.disconnect();
  }, [scroller]);

  const visibleRows = Math.max(1, Math.ceil(viewportPx / ROW_PX) + 1);
  const naturalPx = rows * ROW_PX;
  const scaled = naturalPx > MAX_SCROLL_PX;
  const contentPx = Math.max(viewportPx, Math.min(naturalPx, MAX_SCROLL_PX));
  const maxScrollPx = Math.max(0, contentPx - viewportPx);
  // At the bottom the last line sits whole at the bottom edge.
  const maxFirstRow = Math.max(0, rows - Math.floor(viewportPx / ROW_PX));
  const rowAt = (top: number) =>
    scaled ? Math.round((top / Math.max(1, maxScrollPx)) * maxFirstRow) : Math.floor(top / ROW_PX);
  const firstRow = scaled ? rowAt(scrollTop) : Math.min(rowAt(scrollTop), maxFirstRow);
  const offsetPx = scaled ? 0 : scrollTop - firstRow * ROW_PX;

  const scrollTopForRow = useCallback(
    (row: number) => (scaled ? (row / Math.max(1, maxFirstRow)) * maxScrollPx : row * ROW_PX),
    [scaled, maxFirstRow, maxScrollPx],
  );

  const scrollTo = useCallback(
    (top: number) => {
      const element = scroller.current;
      if (!element) return;
      const before = element.scrollTop;
      element.scrollTop = top;
      // Only a scroll that happened fires an event to ignore.
      if (element.scrollTop !== before) programmatic.current = true;
      setScrollTop(element.scrollTop);
    },
    [scroller],
  );

  const onScrolled = useCallback(() => {
    const element = scroller.current;
    if (!element) return false;
    setScrollTop(element.scrollTop);
    if (!programmatic.current) return true;
    programmatic.current = false;
    return false;
  }, [scroller]);

  return {
    viewportPx,
    visibleRows,
    contentPx,
    scaled,
    firstRow,
    offsetPx,
    scrollTopForRow,
    rowAt,
    scrollTo,
    onScrolled,
  };
}
