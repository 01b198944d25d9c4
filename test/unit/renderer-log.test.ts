import { describe, expect, it } from 'vitest';
import { parseAnsi, stripAnsi } from '../../src/renderer/src/log/ansi';
import { FoldMap } from '../../src/renderer/src/log/fold-map';
import { FrameBatcher } from '../../src/renderer/src/store/frame-batcher';
import { pathsFromUriList } from '../../src/renderer/src/uri-list';

describe('ANSI colours in log lines', () => {
  it('splits a line into styled spans and drops the escapes', () => {
    const spans = parseAnsi('plain \u001b[1;32mgreen bold\u001b[0m back \u001b[38;5;196mred\u001b[39m');
    expect(spans.map((span) => span.text)).toEqual(['plain ', 'green bold', ' back ', 'red']);
    expect(spans[1]).toMatchObject({ bold: true, fg: 'var(--ansi-green)' });
    expect(spans[2]).toMatchObject({ bold: false, fg: null });
    expect(spans[3]?.fg).toBe('rgb(255, 0, 0)');
  });

  it('removes cursor movements and other control characters, keeping the text', () => {
    expect(stripAnsi('\u001b[2K\u001b[1Aprogress 50%\u0007')).toBe('progress 50%');
  });
});

describe('folded steps', () => {
  it('map the rows shown to log lines around the folded ranges', () => {
    const map = new FoldMap(100, [
      { from: 11, to: 20 },
      { from: 51, to: 60 },
    ]);
    expect(map.rows).toBe(82);
    expect(map.lineAt(10)).toBe(10);
    expect(map.lineAt(11)).toBe(20);
    expect(map.lineAt(42)).toBe(60);
    expect(map.rowOf(20)).toBe(11);
    expect(map.rowOf(15)).toBe(11);
    expect(map.runs(9, 4)).toEqual([
      { from: 9, count: 2 },
      { from: 20, count: 2 },
    ]);
  });

  it('cost nothing per line: a million lines with no folds is one run', () => {
    const map = new FoldMap(1_000_000, []);
    expect(map.rows).toBe(1_000_000);
    expect(map.runs(999_950, 100)).toEqual([{ from: 999_950, count: 50 }]);
  });
});

describe('dropped folders', () => {
  it('are read from the file:// URIs a file manager puts in text/uri-list', () => {
    const list =
      '# from Files\r\nfile:///home/me/My%20Project/\r\nfile://localhost/srv/app\r\nhttps://example.com/x\r\n';
    expect(pathsFromUriList(list)).toEqual(['/home/me/My Project', '/srv/app']);
  });

  it('ignore files on another host', () => {
    expect(pathsFromUriList('file://otherhost/share/project')).toEqual([]);
  });
});

describe('events reach the store once per frame', () => {
  it('coalesces a burst of progress per task and keeps the order of the rest', () => {
    const frames: (() => void)[] = [];
    const applied: unknown[][] = [];
    const batcher = new FrameBatcher(
      (events) => applied.push(events),
      (callback) => frames.push(callback),
    );
    batcher.push({ type: 'history.changed' });
    for (let lines = 1; lines <= 1000; lines++) batcher.push({ type: 'task.log', buildId: 'b', taskId: 'api', lines });
    batcher.push({ type: 'task.log', buildId: 'b', taskId: 'web', lines: 7 });
    batcher.push({ type: 'build.finished', buildId: 'b', status: 'succeeded', error: null });
    expect(applied).toHaveLength(0);
    expect(frames).toHaveLength(1);
    frames[0]?.();
    expect(applied).toEqual([
      [
        { type: 'history.changed' },
        { type: 'task.log', buildId: 'b', taskId: 'api', lines: 1000 },
        { type: 'task.log', buildId: 'b', taskId: 'web', lines: 7 },
        { type: 'build.finished', buildId: 'b', status: 'succeeded', error: null },
      ],
    ]);
  });
});
