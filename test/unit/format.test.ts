import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration } from '../../src/shared/format';

describe('figures read the same in the CLI and the window', () => {
  it('writes bytes in binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(300 * 1024 ** 2)).toBe('300 MiB');
  });

  it('writes durations without ever showing 60 seconds', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(12_340)).toBe('12.3 s');
    expect(formatDuration(119_600)).toBe('1 min 59 s');
    expect(formatDuration(245_000)).toBe('4 min 05 s');
  });
});
