import { describe, expect, it } from 'vitest';
import { LineBatch, taskLineJson, taskLinePrefix } from '../../src/cli/output';
import type { LogLineEvent } from '../../src/shared/contract';

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('the CLI output', () => {
  it('writes the lines printed in one turn with one write, in order', async () => {
    const writes: string[] = [];
    const batch = new LineBatch((text) => writes.push(text));
    for (const line of ['one', 'two', 'three']) batch.add(line);
    expect(writes).toEqual([]);
    await turn();
    expect(writes).toEqual(['one\ntwo\nthree\n']);
    batch.add('four');
    batch.flush();
    await turn();
    expect(writes).toEqual(['one\ntwo\nthree\n', 'four\n']);
  });

  it('writes a large batch at once instead of holding it for the turn', () => {
    const writes: string[] = [];
    const batch = new LineBatch((text) => writes.push(text));
    const line = 'x'.repeat(1023);
    for (let i = 0; i < 256; i++) batch.add(line);
    // 256 KiB held is written without waiting for the turn to end: memory stays bounded.
    expect(writes.length).toBe(1);
    expect(writes[0]?.length).toBe(256 * 1024);
  });

  it('prints task.line events exactly as JSON.stringify does', () => {
    const texts = ['plain', 'a "quoted" \\ path', 'tab\tand \u001b[32mcolour\u001b[0m', 'été 🚀', '\ud800 lone', ''];
    texts.forEach((text, line) => {
      for (const taskId of ['api', 'w"eb']) {
        const event: LogLineEvent = { type: 'task.line', buildId: '20261202-000000-abcdef', taskId, line, text };
        expect(taskLineJson(taskLinePrefix(event.buildId, taskId), line, text)).toBe(JSON.stringify(event));
      }
    });
  });
});
