import { formatCount } from '../format';
import { notify } from '../store/store';
import { slipway } from '../transport';
import { stripAnsi } from './ansi';

/** Copying reads the log in windows of this many lines (the engine's most at once). */
const COPY_WINDOW_LINES = 5000;
/** A step's copy stops here: the clipboard is not the place for a whole endless log (Save… is). */
export const COPY_LIMIT_LINES = 100_000;

/** Copies lines [from, to) of a task's log to the clipboard, without colour codes, and says so. */
export async function copyLogLines(buildId: string, taskId: string, from: number, to: number): Promise<void> {
  const last = Math.min(to, from + COPY_LIMIT_LINES);
  const parts: string[] = [];
  try {
    for (let at = from; at < last; at += COPY_WINDOW_LINES) {
      const window = await slipway['logs.read']({
        buildId,
        taskId,
        fromLine: at,
        count: Math.min(COPY_WINDOW_LINES, last - at),
      });
      for (const line of window.lines) parts.push(stripAnsi(line));
      if (window.lines.length === 0) break;
    }
    await navigator.clipboard.writeText(parts.join('\n'));
    const cut = to - from > COPY_LIMIT_LINES ? ` (the first ${formatCount(COPY_LIMIT_LINES)}; Save… keeps all)` : '';
    notify(`Copied ${formatCount(parts.length)} lines${cut}.`, 'info');
  } catch {
    notify('The clipboard refused the copy; select the lines and copy them instead.');
  }
}

/** Copies lines already read (the rows in view) to the clipboard. */
export async function copyTexts(texts: string[]): Promise<void> {
  try {
    await navigator.clipboard.writeText(texts.map(stripAnsi).join('\n'));
    notify('Copied the lines in view.', 'info');
  } catch {
    notify('The clipboard refused the copy; select the lines and copy them instead.');
  }
}
