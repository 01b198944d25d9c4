import type { SlipwayEvent } from '../../../shared/contract';

/**
 * Collects the engine's events and hands them over once per animation frame. Progress and line counts
 * of one task are coalesced (only the latest matters), so a burst of events costs one store update.
 */
export class FrameBatcher {
  private pending = new Map<string, SlipwayEvent>();
  private sequence = 0;
  private scheduled = false;

  constructor(
    private readonly apply: (events: SlipwayEvent[]) => void,
    /** requestAnimationFrame in the window. */
    private readonly scheduleFrame: (callback: () => void) => void,
  ) {}

  push(event: SlipwayEvent): void {
    this.pending.set(this.keyOf(event), event);
    if (this.scheduled) return;
    this.scheduled = true;
    // A hidden tab gets no frames; the timer keeps the queue from waiting for the user to come back.
    const flush = () => this.flush();
    const timer = setTimeout(flush, 250);
    this.scheduleFrame(() => {
      clearTimeout(timer);
      flush();
    });
  }

  flush(): void {
    if (!this.scheduled) return;
    this.scheduled = false;
    const events = [...this.pending.values()];
    this.pending = new Map();
    if (events.length > 0) this.apply(events);
  }

  private keyOf(event: SlipwayEvent): string {
    if (event.type === 'task.state' || event.type === 'task.log')
      return `${event.type}:${event.buildId}:${event.taskId}`;
    this.sequence += 1;
    return `${event.type}:${this.sequence}`;
  }
}
