import { type RefObject, useCallback, useLayoutEffect, useRef, useState } from 'react';
import { ROW_PX, type VirtualRows } from './use-virtual-rows';

export interface FollowTail {
  following: boolean;
  /** Follows the tail again (the Follow button). */
  follow(): void;
  /** Stops following (a jump to a search match). */
  stop(): void;
  onScroll(): void;
  onWheel(event: React.WheelEvent): void;
  onKeyDown(event: React.KeyboardEvent): void;
}

/**
 * Keeps the view at the tail while the log grows, until the user scrolls up; at the bottom again it
 * follows again. While not following, the row being read stays in view as rows are added.
 */
export function useFollowTail(
  scroller: RefObject<HTMLDivElement | null>,
  view: VirtualRows,
  rows: number,
  /** Changes for a new log, which starts followed. */
  logKey: string,
): FollowTail {
  const [following, setFollowing] = useState(true);
  const followingRef = useRef(true);
  const anchorRow = useRef(0);
  const setFollow = useCallback((on: boolean) => {
    followingRef.current = on;
    setFollowing(on);
  }, []);

  // biome-ignore lint/correctness/useExhaustiveDependencies: resets whenever the log changes.
  useLayoutEffect(() => setFollow(true), [logKey, setFollow]);

  // Following: keep the scrollbar at the bottom as the log grows.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs whenever the content or the viewport changes size.
  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element || !following) return;
    const bottom = element.scrollHeight - element.clientHeight;
    if (Math.abs(element.scrollTop - bottom) > 1) view.scrollTo(bottom);
  }, [following, view.contentPx, view.viewportPx, rows]);

  // With a scaled scrollbar the same offset names a later row as the log grows: a reader's row is kept.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs when the number of rows changes.
  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element || followingRef.current || !view.scaled) return;
    const wanted = view.scrollTopForRow(anchorRow.current);
    if (Math.abs(element.scrollTop - wanted) >= 1) view.scrollTo(wanted);
  }, [rows]);

  const onScroll = () => {
    const element = scroller.current;
    if (!element) return;
    const byUser = view.onScrolled();
    anchorRow.current = view.rowAt(element.scrollTop);
    if (!byUser) return;
    const atBottom = element.scrollTop >= element.scrollHeight - element.clientHeight - ROW_PX;
    if (atBottom !== followingRef.current) setFollow(atBottom);
  };

  // Scrolling up by wheel or key stops following at once, even while new lines keep the bar moving.
  const stopFollowing = () => {
    if (followingRef.current) setFollow(false);
  };
  const follow = useCallback(() => setFollow(true), [setFollow]);
  const stop = useCallback(() => setFollow(false), [setFollow]);
  return {
    following,
    follow,
    stop,
    onScroll,
    onWheel: (event) => {
      if (event.deltaY < 0) stopFollowing();
    },
    onKeyDown: (event) => {
      if (event.key === 'PageUp' || event.key === 'ArrowUp' || event.key === 'Home') stopFollowing();
    },
  };
}
