import type { LogStep } from '../../../shared/domain';

/** A range of log lines hidden by a folded step: [from, to). */
export interface FoldedRange {
  from: number;
  to: number;
}

/**
 * Maps the rows the viewer shows to log line numbers when some steps are folded. Folds are few (one per
 * step), so the mapping walks them; it never holds anything per line.
 */
export class FoldMap {
  readonly rows: number;
  private readonly folds: FoldedRange[];

  constructor(
    readonly totalLines: number,
    folds: FoldedRange[],
  ) {
    this.folds = folds
      .map((fold) => ({ from: Math.max(0, fold.from), to: Math.min(totalLines, fold.to) }))
      .filter((fold) => fold.to > fold.from)
      .sort((a, b) => a.from - b.from);
    let hidden = 0;
    for (const fold of this.folds) hidden += fold.to - fold.from;
    this.rows = totalLines - hidden;
  }

  /** The log line shown at a row. */
  lineAt(row: number): number {
    let line = row;
    for (const fold of this.folds) {
      if (line >= fold.from) line += fold.to - fold.from;
      else break;
    }
    return line;
  }

  /** The row that shows a line (or the row of the fold that hides it). */
  rowOf(line: number): number {
    let row = line;
    for (const fold of this.folds) {
      if (line >= fold.to) row -= fold.to - fold.from;
      else if (line >= fold.from) return fold.from - this.hiddenBefore(fold.from);
      else break;
    }
    return row;
  }

  /** The lines of rows [first, first + count) as contiguous runs, so each run is one logs.read. */
  runs(firstRow: number, count: number): { from: number; count: number }[] {
    const runs: { from: number; count: number }[] = [];
    const lastRow = Math.min(this.rows, firstRow + count);
    for (let row = Math.max(0, firstRow); row < lastRow; row++) {
      const line = this.lineAt(row);
      const run = runs[runs.length - 1];
      if (run && run.from + run.count === line) run.count += 1;
      else runs.push({ from: line, count: 1 });
    }
    return runs;
  }

  private hiddenBefore(line: number): number {
    let hidden = 0;
    for (const fold of this.folds) if (fold.to <= line) hidden += fold.to - fold.from;
    return hidden;
  }
}

/** When a build ends, every step is folded but the one holding the first error (a failed step stays open). */
export function foldsAtEnd(steps: readonly LogStep[], errorLine: number | null): Set<number> {
  let open = -1;
  for (const [i, step] of steps.entries()) if (errorLine !== null && step.line <= errorLine) open = i;
  return new Set(steps.filter((_, i) => i !== open).map((step) => step.line));
}
