// The private Docker Engine of the tests and the benchmarks, as DESIGN.md shows it. Plain JavaScript,
// so that bench/ scripts (run by node without a build) and the test harness share one list.
import { join } from 'node:path';

/**
 * dockerd's arguments for an engine living wholly under `dir` (keep it short: containerd's socket lives
 * under the exec-root, and unix socket paths are limited to 107 bytes), listening on `socketPath`.
 */
export function dockerdArgs(dir, socketPath) {
  return [
    '--storage-driver=vfs',
    '--iptables=false',
    '--ip6tables=false',
    '--bridge=none',
    '--host',
    `unix://${socketPath}`,
    '--data-root',
    join(dir, 'root'),
    '--exec-root',
    join(dir, 'exec'),
    '--pidfile',
    join(dir, 'docker.pid'),
  ];
}
