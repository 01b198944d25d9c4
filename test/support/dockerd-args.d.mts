/** dockerd's arguments for an engine living wholly under `dir`, listening on `socketPath` (see dockerd-args.mjs). */
export function dockerdArgs(dir: string, socketPath: string): string[];
