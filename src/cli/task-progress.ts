import type { TaskState } from '../shared/domain';
import { describeTaskState } from '../shared/task-state';
import { LineBatch } from './output';

/**
 * A block of lines on a terminal, one per task, redrawn in place (at most every 100 ms) with log
 * lines printed above it.
 */
export class TerminalProgress {
  private readonly lines = new Map<string, string>();
  private drawn = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Log lines printed this turn: the block is erased and redrawn once for all of them. */
  private readonly printed: LineBatch;

  constructor(
    private readonly write: (text: string) => void,
    taskIds: string[],
  ) {
    for (const id of taskIds) this.lines.set(id, `[${id}] queued`);
    this.printed = new LineBatch((text) => this.write(`${this.erase()}${text}${this.block()}`));
  }

  update(taskId: string, state: TaskState, region?: string): void {
    this.lines.set(taskId, `[${taskId}]${region ? ` ${region}` : ''} ${describeTaskState(state, 'line')}`);
    this.timer ??= setTimeout(() => this.draw(), 100);
  }

  /** Prints a line above the block. */
  print(line: string): void {
    this.printed.add(line);
  }

  /** Prints lines, each ended by '\n', above the block. */
  printText(text: string): void {
    this.printed.addText(text);
  }

  /** Draws the final state and leaves the block on screen. */
  finish(): void {
    this.printed.flush();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.write(`${this.erase()}${this.block()}`);
    this.drawn = 0;
  }

  private draw(): void {
    this.timer = null;
    this.printed.flush();
    this.write(`${this.erase()}${this.block()}`);
  }

  private erase(): string {
    return this.drawn > 0 ? `\x1b[${this.drawn}F\x1b[J` : '';
  }

  private block(): string {
    const columns = process.stderr.columns || 100;
    const text = [...this.lines.values()].map((line) => line.slice(0, columns - 1));
    this.drawn = text.length;
    return `${text.join('\n')}\n`;
  }
}
