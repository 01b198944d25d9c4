import type { LogLine } from '../../shared/log-line';

export { LineFlag, type LogLine, parseStep } from '../../shared/log-line';

export type BuildRecord =
  | { kind: 'line'; line: LogLine }
  | { kind: 'step'; step: number; steps: number }
  | { kind: 'image'; imageId: string }
  | { kind: 'error'; message: string };
