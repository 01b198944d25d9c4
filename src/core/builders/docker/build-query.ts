import { existsSync } from 'node:fs';
import type { BuildTask, Task } from '../../../shared/domain';
import { SlipwayError } from '../../../shared/errors';

/** The builder behind POST /build: the classic one (version 1) or BuildKit (version 2). */
export type DockerBuilder = 'classic' | 'buildkit';

/** Which engine speaks the Docker Engine API here; Podman builds with buildah whatever is asked. */
export type EngineProduct = 'docker' | 'podman' | 'balena' | 'unknown';

/** The Task fields a build may carry, as the CLI flag or compose key a person would know them by. */
const KEY_NAMES = {
  platforms: 'platforms (--platform)',
  secrets: 'secrets (--secret)',
  ssh: 'ssh (--ssh)',
  additionalContexts: 'additional_contexts',
} as const;

/**
 * What a Docker-API builder cannot take of a task, as warnings naming the key and the service (the key
 * is then not sent), and refusals that stop the task before anything is sent.
 */
export function checkDockerTask(
  task: Task,
  builder: DockerBuilder,
  product: EngineProduct,
  session = false,
): { warnings: string[]; errors: SlipwayError[] } {
  const warnings: string[] = [];
  const errors: SlipwayError[] = [];
  const service = `service ${task.service}`;
  const podman = product === 'podman';
  if (task.platforms?.length) {
    if (builder === 'classic' && !podman) {
      warnings.push(
        `${KEY_NAMES.platforms} of ${service} is not sent: the classic builder cannot build for another platform (use --builder-version 2)`,
      );
    } else if (task.platforms.length > 1) {
      warnings.push(
        `${KEY_NAMES.platforms} of ${service} is not sent: the engine's /build builds one platform at a time, and ${task.platforms.length} were given (${task.platforms.join(', ')})`,
      );
    }
  }
  // Secrets and SSH agents are served by BuildKit's session (see buildkit-session/).
  for (const key of ['secrets', 'ssh'] as const) {
    if (task[key]?.length && !session) {
      const why =
        builder === 'buildkit' ? 'the session is turned off' : 'only BuildKit takes it (use --builder-version 2)';
      warnings.push(`${KEY_NAMES[key]} of ${service} is not sent: it needs a BuildKit session, and ${why}`);
    }
  }
  if (session) {
    for (const { id, file } of task.secrets ?? []) {
      if (file !== undefined && !existsSync(file)) {
        errors.push(
          new SlipwayError('E_BAD_INPUT', `The secret ${id} of ${service} names ${file}, which does not exist`, {
            hint: 'Point src= at the file that holds the secret.',
          }),
        );
      }
    }
    for (const { id, paths } of task.ssh ?? []) {
      if (paths.length === 0 && !process.env.SSH_AUTH_SOCK) {
        errors.push(
          new SlipwayError(
            'E_BAD_INPUT',
            `ssh ${id} of ${service} names no agent socket, and SSH_AUTH_SOCK is not set`,
            {
              hint: 'Start an ssh-agent, or give the socket: --ssh default=/path/to/agent.sock.',
            },
          ),
        );
      } else if (paths.length > 1) {
        warnings.push(`ssh ${id} of ${service}: only the first path is forwarded (${paths[0]}), as an agent's socket`);
      }
    }
  }
  if (task.additionalContexts && Object.keys(task.additionalContexts).length > 0) {
    // Named contexts are attributes of BuildKit's Dockerfile frontend, which POST /build has no parameter for.
    warnings.push(
      `${KEY_NAMES.additionalContexts} of ${service} is not sent: the Docker Engine API's /build cannot name extra contexts for BuildKit's frontend`,
    );
  }
  if (task.remoteContext !== undefined && product === 'balena') {
    errors.push(
      new SlipwayError(
        'E_BAD_INPUT',
        `The remote context ${task.remoteContext} of ${service} cannot be built by balenaEngine`,
        {
          hint: 'Clone or download the context and build it from a folder.',
        },
      ),
    );
  }
  return { warnings, errors };
}

/** The query of POST /build for a task: only what this builder takes (see checkDockerTask). */
export function dockerBuildQuery(
  buildTask: BuildTask,
  dockerfile: string,
  builder: DockerBuilder,
  product: EngineProduct,
): URLSearchParams {
  const { task } = buildTask;
  const query = new URLSearchParams({ dockerfile, rm: '1', forcerm: '1' });
  const tags = [...(buildTask.tag ? [buildTask.tag] : []), ...(task.tags ?? [])];
  for (const tag of tags.filter((value, index) => tags.indexOf(value) === index)) query.append('t', tag);
  if (task.buildArgs && Object.keys(task.buildArgs).length > 0) query.set('buildargs', JSON.stringify(task.buildArgs));
  if (task.target) query.set('target', task.target);
  if (task.labels && Object.keys(task.labels).length > 0) query.set('labels', JSON.stringify(task.labels));
  if (task.noCache) query.set('nocache', '1');
  if (task.pull) query.set('pull', '1');
  if (task.network) query.set('networkmode', task.network);
  if (task.shmSizeBytes !== undefined) query.set('shmsize', String(task.shmSizeBytes));
  if (task.cacheFrom?.length) query.set('cachefrom', JSON.stringify(task.cacheFrom));
  if (task.extraHosts?.length) {
    // Docker reads each host as its own value; Podman's compatible API reads one JSON list.
    if (product === 'podman') query.set('extrahosts', JSON.stringify(task.extraHosts));
    else for (const host of task.extraHosts) query.append('extrahosts', host);
  }
  if (task.platforms?.length === 1 && (builder === 'buildkit' || product === 'podman')) {
    query.set('platform', (task.platforms[0] as string).toLowerCase());
  }
  if (task.remoteContext !== undefined) query.set('remote', task.remoteContext);
  if (builder === 'buildkit') query.set('version', '2');
  return query;
}
