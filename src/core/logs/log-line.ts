import type { LogLine } from '../../shared/log-line';
import type { LineRun } from './line-run';

export { LineFlag, type LogLine, parseStep } from '../../shared/log-line';

/** A BuildKit vertex started or ended, with the builder's own times: what a timeline draws. */
export interface VertexTiming {
  kind: 'vertex';
  vertex: string;
  name: string;
  startedMs: number | null;
  completedMs: number | null;
  cached: boolean;
  error: boolean;
}

export type BuildRecord =
  | { kind: 'line'; line: LogLine }
  | { kind: 'run'; run: LineRun }
  | { kind: 'step'; step: number; steps: number }
  | { kind: 'image'; imageId: string }
  | VertexTiming
  | { kind: 'error'; message: string };
