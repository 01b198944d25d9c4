import { createHash } from 'node:crypto';
import { basename, dirname, resolve } from 'node:path';
import type { Task } from '../../../shared/domain';
import type { ContextPlan } from '../../pack/plan';
import type { ScanRun } from '../../pack/scan';
import type { ScanSpool } from '../../pack/scan-spool';
import { IgnorePatterns, readIgnorePatterns } from '../../project/ignore-patterns';
import type { SyncedDir } from './filesync';
import type { SecretSource } from './secrets';
import type { AgentSource } from './ssh';

/** What a task offers BuildKit's session: its folders, the Dockerfile's name among them, secrets and agents. */
export interface SessionPlan {
  /** The session's name and shared key, as the docker CLI makes them from the context folder. */
  name: string;
  sharedKey: string;
  dirs: SyncedDir[];
  /** The Dockerfile's name in the `dockerfile` folder. */
  dockerfile: string;
  secrets: SecretSource[];
  agents: AgentSource[];
}

/**
 * The exclude patterns BuildKit's Dockerfile frontend will ask with when it read the same ignore file
 * as the plan, so that its request for the whole context is answered from the task's own scan; null
 * when the plan's walk sends something BuildKit's would not (an appended Dockerfile, a kept
 * .dockerignore or Dockerfile the patterns exclude).
 */
function scanPatterns(plan: ContextPlan, dockerfile: string): string[] | null {
  if (plan.appended.length > 0 || plan.ignore.source.leaveOutDockerignore) return null;
  const patterns = readIgnorePatterns(plan.ignore.source.text);
  const matcher = new IgnorePatterns(patterns);
  if (matcher.matches('.dockerignore') || matcher.matches(dockerfile)) return null;
  return patterns;
}

/** The session's view of a task's context: its folders, the scan reused for the whole-context request. */
export function sessionPlan(
  task: Task,
  plan: ContextPlan,
  scan: ScanRun,
  extras: { secrets: SecretSource[]; agents: AgentSource[] },
): SessionPlan {
  const root = resolve(task.contextPath);
  const patterns = scanPatterns(plan, task.dockerfile.replace(/^\.\//, ''));
  const context: SyncedDir = { name: 'context', root };
  if (patterns && scan.spool) context.scan = { patterns, spool: scan.spool as ScanSpool, result: scan.result };
  let dockerfileDir: SyncedDir;
  let dockerfile: string;
  if (task.dockerfileInline !== undefined) {
    dockerfile = 'Dockerfile';
    dockerfileDir = { name: 'dockerfile', root, files: new Map([[dockerfile, Buffer.from(task.dockerfileInline)]]) };
  } else {
    const path = task.dockerfileOutside ?? resolve(root, task.dockerfile);
    dockerfile = basename(path);
    dockerfileDir = { name: 'dockerfile', root: dirname(path) };
  }
  const dirs = [context, dockerfileDir];
  return {
    name: basename(root),
    // The docker CLI keys BuildKit's cache by the context folder, so a rebuild of it sends only what changed.
    sharedKey: createHash('sha256').update(root).digest('hex'),
    dirs,
    dockerfile,
    ...extras,
  };
}

/**
 * The secrets and SSH agents of a task, as the session serves them: `--ssh default` (or an id with
 * no path) forwards the agent of SSH_AUTH_SOCK, an id with a path the agent listening there.
 */
export function sessionExtras(
  task: Task,
  env: NodeJS.ProcessEnv = process.env,
): { secrets: SecretSource[]; agents: AgentSource[] } {
  const agents: AgentSource[] = [];
  for (const { id, paths } of task.ssh ?? []) {
    const socket = paths[0] ?? env.SSH_AUTH_SOCK;
    if (socket) agents.push({ id, socket });
  }
  return { secrets: task.secrets ?? [], agents };
}
