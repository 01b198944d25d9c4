import { resolve } from 'node:path';
import type { BuilderVersion } from '../core/builders/docker/builder-choice';
import type { BuildOptions } from '../core/builds/task-options';
import { SlipwayError } from '../shared/errors';

/** The build option flags of `slipway build`, as node:util parseArgs takes them. */
export const buildOptionFlags = {
  tag: { type: 'string', short: 't', multiple: true },
  target: { type: 'string' },
  'build-arg': { type: 'string', multiple: true },
  label: { type: 'string', multiple: true },
  network: { type: 'string' },
  platform: { type: 'string', multiple: true },
  pull: { type: 'boolean', default: false },
  'no-cache': { type: 'boolean', default: false },
  'cache-from': { type: 'string', multiple: true },
  'add-host': { type: 'string', multiple: true },
  'shm-size': { type: 'string' },
  'builder-version': { type: 'string' },
  secret: { type: 'string', multiple: true },
  ssh: { type: 'string', multiple: true },
  'no-session': { type: 'boolean', default: false },
} as const;

export const buildOptionUsage = `  -t, --tag T           tag of the image, repeatable ("-<service>" is added per task when there are several)
  --target STAGE        build this stage of a multi-stage Dockerfile
  --build-arg K=V       a build argument, repeatable (K alone takes its value from the environment)
  --label K=V           an image label, repeatable
  --network MODE        the network of RUN steps: none, host or a network's name
  --platform P          the platform to build for (BuildKit and Podman), e.g. linux/arm64
  --pull                always pull newer base images
  --no-cache            build without the engine's layer cache
  --cache-from IMAGE    an image to take cache from, repeatable
  --add-host HOST:IP    an /etc/hosts entry for RUN steps, repeatable
  --shm-size SIZE       size of /dev/shm for RUN steps: bytes, or with b, k, m or g
  --builder-version V   the engine's builder: 1 (classic), 2 (BuildKit) or auto (default: the target's
                        setting, else auto: BuildKit on Docker Engine, buildah on Podman)
  --secret id=ID,src=PATH|env=VAR
                        a secret for RUN --mount=type=secret (BuildKit), read when the step asks, repeatable
  --ssh default|ID=SOCKET
                        an SSH agent for RUN --mount=type=ssh (BuildKit): default is SSH_AUTH_SOCK
  --no-session          BuildKit: send the whole context as the tar body, not through BuildKit's session
                        (which sends only what changed since the last build)`;

type FlagValues = {
  tag?: string[];
  target?: string;
  'build-arg'?: string[];
  label?: string[];
  network?: string;
  platform?: string[];
  pull?: boolean;
  'no-cache'?: boolean;
  'cache-from'?: string[];
  'add-host'?: string[];
  'shm-size'?: string;
  'builder-version'?: string;
  secret?: string[];
  ssh?: string[];
  'no-session'?: boolean;
};

/**
 * `--secret` as the docker CLI reads it: comma-separated fields id=, src= (or source=), env= and
 * type=file|env (with type=env, src names the variable).
 */
export function parseSecret(value: string): { id: string; file?: string; env?: string } {
  const fields = new Map<string, string>();
  for (const field of value.split(',')) {
    const equals = field.indexOf('=');
    if (equals <= 0) throw new SlipwayError('E_BAD_INPUT', `--secret: the field "${field}" must be a key=value pair`);
    fields.set(field.slice(0, equals).trim().toLowerCase(), field.slice(equals + 1));
  }
  const type = fields.get('type');
  if (type !== undefined && type !== 'file' && type !== 'env') {
    throw new SlipwayError('E_BAD_INPUT', `--secret: unsupported secret type "${type}" (file or env)`);
  }
  for (const key of fields.keys()) {
    if (!['id', 'src', 'source', 'env', 'type'].includes(key)) {
      throw new SlipwayError('E_BAD_INPUT', `--secret: unexpected key "${key}" in ${value}`);
    }
  }
  const id = fields.get('id');
  if (!id)
    throw new SlipwayError('E_BAD_INPUT', `--secret ${value} names no id`, { hint: 'Write --secret id=ID,src=PATH.' });
  const source = fields.get('src') ?? fields.get('source');
  const env = fields.get('env') ?? (type === 'env' ? source : undefined);
  if (env) return { id, env };
  if (source) return { id, file: resolve(source) };
  throw new SlipwayError('E_BAD_INPUT', `--secret ${value} names neither a file (src=) nor a variable (env=)`);
}

/** `--ssh` as the docker CLI reads it: `default`, or ID=PATH[,PATH]. */
export function parseSsh(value: string): { id: string; paths: string[] } {
  const equals = value.indexOf('=');
  const id = equals === -1 ? value : value.slice(0, equals);
  if (!id) throw new SlipwayError('E_BAD_INPUT', `--ssh takes default or ID=SOCKET, not ${value}`);
  const paths =
    equals === -1
      ? []
      : value
          .slice(equals + 1)
          .split(',')
          .filter(Boolean)
          .map((path) => resolve(path));
  return { id, paths };
}

/** KEY=VALUE pairs; a KEY alone takes the environment's value (as `docker build --build-arg` does), or is refused. */
function pairs(values: string[] | undefined, flag: string, env: NodeJS.ProcessEnv, fromEnv: boolean) {
  if (!values?.length) return undefined;
  const result: Record<string, string> = {};
  for (const value of values) {
    const equals = value.indexOf('=');
    const key = equals < 0 ? value : value.slice(0, equals);
    if (!key) throw new SlipwayError('E_BAD_INPUT', `--${flag} takes KEY=VALUE, not ${value}`);
    if (equals >= 0) result[key] = value.slice(equals + 1);
    else if (fromEnv && env[key] !== undefined) result[key] = env[key] as string;
    else if (!fromEnv) throw new SlipwayError('E_BAD_INPUT', `--${flag} takes KEY=VALUE, not ${value}`);
  }
  return result;
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** A size as docker's --shm-size takes it: 64m, 1g, 1048576. */
export function parseSize(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([bkmg]?)b?$/i.exec(text.trim());
  if (!match) throw new SlipwayError('E_BAD_INPUT', `--${flag} takes a size such as 64m or 1g, not ${text}`);
  const bytes = Math.round(Number(match[1]) * (SIZE_UNITS[(match[2] as string).toLowerCase()] as number));
  if (bytes <= 0) throw new SlipwayError('E_BAD_INPUT', `--${flag} must be more than 0 bytes`);
  return bytes;
}

/** Reads the build option flags into options for every task, and the builder asked for. */
export function readBuildFlags(
  values: FlagValues,
  env: NodeJS.ProcessEnv = process.env,
): { options: BuildOptions; builderVersion: BuilderVersion | undefined; buildkitSession: boolean } {
  const version = values['builder-version'];
  if (version !== undefined && version !== '1' && version !== '2' && version !== 'auto') {
    throw new SlipwayError('E_BAD_INPUT', `--builder-version takes 1, 2 or auto, not ${version}`);
  }
  for (const host of values['add-host'] ?? []) {
    if (!/^[^:\s]+[:=]\S+$/.test(host)) {
      throw new SlipwayError('E_BAD_INPUT', `--add-host takes HOST:IP, not ${host}`);
    }
  }
  const platforms = values.platform?.flatMap((value) => value.split(',')).filter(Boolean);
  const options: BuildOptions = {
    tags: values.tag,
    targetStage: values.target,
    buildArgs: pairs(values['build-arg'], 'build-arg', env, true),
    labels: pairs(values.label, 'label', env, false),
    network: values.network,
    platforms: platforms?.length ? platforms : undefined,
    pull: values.pull || undefined,
    noCache: values['no-cache'] || undefined,
    cacheFrom: values['cache-from'],
    extraHosts: values['add-host']?.map((host) => host.replace('=', ':')),
    shmSizeBytes: values['shm-size'] === undefined ? undefined : parseSize(values['shm-size'], 'shm-size'),
    secrets: values.secret?.map(parseSecret),
    ssh: values.ssh?.map(parseSsh),
  };
  return { options, builderVersion: version, buildkitSession: !values['no-session'] };
}
