const pad = (value: number, digits = 2) => String(value).padStart(digits, '0');

/** A line's spool time as the log shows it: the local time of day to the millisecond, 13:04:05.123. */
export function formatClock(atMs: number): string {
  const at = new Date(atMs);
  return `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}.${pad(at.getMilliseconds(), 3)}`;
}
