import { describe, expect, it } from 'vitest';
import { TerminalProgress } from '../../src/cli/task-progress';

describe('the terminal progress block', () => {
  it('keeps one line per task, redrawn in place, with log lines printed above it', async () => {
    let screen = '';
    const view = new TerminalProgress(
      (text) => {
        screen += text;
      },
      ['api', 'web'],
    );
    view.update('api', { phase: 'uploading', bytesSent: 512, bytesTotal: 1024, bytesPerSecond: 2048 }, 'eu');
    view.update('web', { phase: 'building', step: 2, steps: 5 }, 'eu');
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(screen).toBe('[api] eu uploading 512 B / 1.0 KiB 50% 2.0 KiB/s\n[web] eu building step 2/5\n');
    screen = '';
    view.print('a log line');
    view.print('another');
    await new Promise((resolve) => setImmediate(resolve));
    // Up two lines, clear to the end, the turn's log lines, then the block again under them: once.
    expect(screen).toBe(
      '\x1b[2F\x1b[Ja log line\nanother\n[api] eu uploading 512 B / 1.0 KiB 50% 2.0 KiB/s\n[web] eu building step 2/5\n',
    );
    screen = '';
    view.print('a last line');
    view.finish();
    // Finishing prints what is held before the final block.
    expect(screen).toContain('a last line\n');
  });
});
