import type { BuilderTarget, Endpoint, Settings } from '../../shared/domain';
import { SlipwayError } from '../../shared/errors';
import { localEngineUrl, redactUrl, tlsFromEnv } from './endpoint-url';

/** The region of an endpoint given as a bare URL. */
export const LOCAL_REGION = 'local';

/**
 * Reads a `--builder` value: `REGION=URL`, or a bare URL for region "local". TLS for tcp:// comes from
 * DOCKER_CERT_PATH / DOCKER_TLS_VERIFY, as the docker CLI does.
 */
export function parseBuilderSpec(spec: string, env: NodeJS.ProcessEnv = process.env): Endpoint {
  const match = /^([A-Za-z0-9][\w.-]{0,63})=(.+)$/.exec(spec);
  const region = match ? (match[1] as string) : LOCAL_REGION;
  const url = match ? (match[2] as string) : spec;
  if (!/^(unix|tcp|https?):\/\//.test(url)) {
    throw new SlipwayError('E_BAD_INPUT', `Not a builder: ${redactUrl(spec)}`, {
      hint: 'Use REGION=URL or URL, with unix:///path.sock, tcp://host:port or http(s)://host:port.',
    });
  }
  return withEnvTls({ region, url }, env);
}

function withEnvTls(endpoint: Endpoint, env: NodeJS.ProcessEnv): Endpoint {
  if (!endpoint.url.startsWith('tcp://') || endpoint.tls) return endpoint;
  const tls = tlsFromEnv(env);
  return tls ? { ...endpoint, tls } : endpoint;
}

/** A target from `--builder` values; regions must be distinct. */
export function targetFromSpecs(specs: string[], env: NodeJS.ProcessEnv = process.env): BuilderTarget {
  const endpoints = specs.map((spec) => parseBuilderSpec(spec, env));
  const seen = new Set<string>();
  for (const endpoint of endpoints) {
    if (seen.has(endpoint.region)) {
      throw new SlipwayError('E_BAD_INPUT', `Region ${endpoint.region} is given twice`, {
        hint: 'Name each builder: --builder eu=tcp://... --builder us=tcp://...',
      });
    }
    seen.add(endpoint.region);
  }
  return { name: 'command-line', kind: 'docker', endpoints };
}

/** The local engine as a one-endpoint target. */
export function localTarget(env: NodeJS.ProcessEnv = process.env): BuilderTarget {
  return {
    name: 'local',
    kind: 'docker',
    endpoints: [withEnvTls({ region: LOCAL_REGION, url: localEngineUrl(env) }, env)],
  };
}

/** The target builds go to: the settings' default target, else the local engine. */
export function defaultTarget(settings: Settings, env: NodeJS.ProcessEnv = process.env): BuilderTarget {
  if (settings.defaultTarget) {
    const target = settings.targets.find((candidate) => candidate.name === settings.defaultTarget);
    if (!target) {
      throw new SlipwayError('E_BAD_INPUT', `The default target ${settings.defaultTarget} is not in the settings`, {
        hint: 'Choose one of the saved targets, or clear the default.',
      });
    }
    return target;
  }
  return localTarget(env);
}

/** A target as it is kept in build records: URLs without credentials (TLS entries are paths, not keys). */
export function redactTarget(target: BuilderTarget): BuilderTarget {
  return { ...target, endpoints: target.endpoints.map((endpoint) => ({ ...endpoint, url: redactUrl(endpoint.url) })) };
}
