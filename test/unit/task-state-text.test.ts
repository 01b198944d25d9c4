import { describe, expect, it } from 'vitest';
import type { TaskState } from '../../src/shared/domain';
import { describeTaskState } from '../../src/shared/task-state';

const error = { code: 'E_BUILD_FAILED' as const, message: 'step 2 failed' };

describe('the words for a task state, one function for the CLI and the window', () => {
  it('gives the window a title for every phase', () => {
    const titles: [TaskState, string][] = [
      [{ phase: 'queued' }, 'Queued'],
      [{ phase: 'packing', files: 0, bytes: 0 }, 'Scanning the context'],
      [{ phase: 'packing', files: 12_345, bytes: 2048 }, 'Packing 12,345 files'],
      [{ phase: 'uploading', bytesSent: 1, bytesTotal: 2, bytesPerSecond: 1 }, 'Uploading'],
      [{ phase: 'building', step: 0, steps: 0 }, 'Building'],
      [{ phase: 'building', step: 3, steps: 7 }, 'Building step 3/7'],
      [{ phase: 'done', imageId: null, durationMs: 10 }, 'Done'],
      [{ phase: 'failed', error, durationMs: 10 }, 'Failed'],
      [{ phase: 'cancelled', durationMs: 10 }, 'Cancelled'],
    ];
    for (const [state, title] of titles) expect(describeTaskState(state)).toBe(title);
  });

  it('gives the CLI a line with phase, bytes, percentage, throughput and steps', () => {
    expect(
      describeTaskState(
        { phase: 'uploading', bytesSent: 5 * 2 ** 20, bytesTotal: 20 * 2 ** 20, bytesPerSecond: 2 ** 20 },
        'line',
      ),
    ).toBe('uploading 5.0 MiB / 20 MiB 25% 1.0 MiB/s');
    expect(describeTaskState({ phase: 'building', step: 3, steps: 7 }, 'line')).toBe('building step 3/7');
    expect(describeTaskState({ phase: 'done', imageId: 'sha256:abc', durationMs: 1500 }, 'line')).toBe(
      'done in 1.5 s: sha256:abc',
    );
    expect(describeTaskState({ phase: 'failed', error, durationMs: 10 }, 'line')).toBe('failed: E_BUILD_FAILED');
  });

  it('says what the upload sent while the scan beside it still runs, then the scan itself', () => {
    expect(describeTaskState({ phase: 'packing', files: 0, bytes: 0 }, 'line')).toBe('packing: scanning');
    expect(describeTaskState({ phase: 'packing', files: 0, bytes: 0, bytesSent: 3 * 2 ** 20 }, 'line')).toBe(
      'packing: scanning, 3.0 MiB sent so far',
    );
    expect(describeTaskState({ phase: 'packing', files: 12, bytes: 2048 }, 'line')).toBe('packing: 12 files, 2.0 KiB');
  });
});
