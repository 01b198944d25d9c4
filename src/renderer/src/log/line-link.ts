/**
 * The address of a line: `#build/<id>/<task>/<n>`, n as the gutter shows it (from 1). The desktop app
 * opens the same route from `slipway://build/<id>/<task>/<n>`.
 */
export function lineLink(buildId: string, taskId: string, line: number): string {
  return `#build/${encodeURIComponent(buildId)}/${encodeURIComponent(taskId)}/${line + 1}`;
}
