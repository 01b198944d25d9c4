/** Coalesces a high-rate value: the latest one is delivered at most once per interval, and on flush. */
export class Coalescer<T> {
  private pending: T | undefined;
  private hasPending = false;
  private timer: NodeJS.Timeout | null = null;
  private lastMs = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly deliver: (value: T) => void,
  ) {}

  push(value: T): void {
    this.pending = value;
    this.hasPending = true;
    const waitMs = this.lastMs + this.intervalMs - Date.now();
    if (waitMs <= 0) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), waitMs);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.hasPending) return;
    this.hasPending = false;
    this.lastMs = Date.now();
    this.deliver(this.pending as T);
  }

  /** Drops what is pending without delivering it. */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.hasPending = false;
  }
}
