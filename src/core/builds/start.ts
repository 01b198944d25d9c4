import type { BuilderTarget, Endpoint, ProbeResult } from '../../shared/domain';
import { SlipwayError } from '../../shared/errors';
import { type BalenaBuildOptions, DEFAULT_BALENA_BUILDER_URL, parseFleet } from '../builders/balena/api';
import { BalenaDriver } from '../builders/balena/driver';
import type { AuthSource } from '../builders/buildkit-session/auth';
import { type BuilderChoice, type BuilderVersion, chooseDockerBuilder } from '../builders/docker/builder-choice';
import { DockerDriver } from '../builders/docker/driver';
import { ping } from '../builders/docker/request';
import type { BuilderDriver } from '../builders/driver';
import { connect } from '../builders/endpoint';
import { failoverOrder } from '../regions/choose';
import { probeRegions } from '../regions/probe';
import { BuildSession, type BuildSessionOptions } from './session';

export interface StartBuildOptions
  extends Omit<BuildSessionOptions, 'target' | 'endpoint' | 'driver' | 'regions' | 'reason'> {
  target: BuilderTarget;
  /** A region the user asked for (not "auto"): it must be one of the target's. */
  region?: string | null;
  /** The settings' pinned region, used when none is asked for. */
  pinnedRegion?: string | null;
  /** docker: overrides the target's builderVersion (default auto). */
  builderVersion?: BuilderVersion;
  /** docker with BuildKit: send contexts through BuildKit's session where the engine opens one (default true). */
  buildkitSession?: boolean;
  /** docker with BuildKit: the registry credentials the session answers BuildKit with (default: none). */
  registryAuth?: AuthSource;
  /** docker: how the regions are probed (the engine keeps warm connections); default one probe of 3 samples. */
  probe?: (target: BuilderTarget, pinned: string | null) => Promise<ProbeResult>;
  /** Told of the probe's result before the build starts (the CLI prints the region). */
  onProbed?: (result: ProbeResult) => void;
  /** Told of the builder chosen for a docker target. */
  onBuilder?: (choice: BuilderChoice) => void;
  /** balena targets: the token and the push's options. */
  balena?: {
    token: string;
    build?: Partial<BalenaBuildOptions>;
    apiOrigin?: string;
    registrySecretsFile?: string | null;
  };
}

/** Checks an asked region against the target. */
function askedRegion(target: BuilderTarget, region: string | null | undefined): string | null {
  const asked = region && region !== 'auto' ? region : null;
  if (asked && !target.endpoints.some((endpoint) => endpoint.region === asked)) {
    throw new SlipwayError(
      'E_BAD_INPUT',
      `No region ${asked} among ${target.endpoints.map((endpoint) => endpoint.region).join(', ')} of the target ${target.name}`,
    );
  }
  return asked;
}

/**
 * The one way a build starts, for the engine, the CLI and browser mode alike: picks the driver for the
 * target, probes its regions (docker) and asks the chosen engine which builder it has, orders the
 * regions for failover, and makes the session. The caller runs it.
 */
export async function startBuild(options: StartBuildOptions): Promise<BuildSession> {
  const { target } = options;
  const asked = askedRegion(target, options.region);
  if (target.kind === 'balena') return balenaSession(options, asked ?? options.pinnedRegion ?? null);
  const pinned = asked ?? options.pinnedRegion ?? null;
  // The build needs latencies, not /version (Podman takes most of a second to answer it).
  const probe = options.probe
    ? await options.probe(target, pinned)
    : await probeRegions(target.endpoints, { samples: 3, pinned, waitForEngine: false });
  options.onProbed?.(probe);
  if (!probe.chosen) {
    const failures = probe.probes.map((entry) => entry.error?.message ?? `${entry.url}: no answer`).join('; ');
    throw new SlipwayError('E_BUILDER_UNREACHABLE', `No builder answered: ${failures}`, {
      hint: 'Check that the engine is running and the URL is right (see DOCKER_HOST).',
    });
  }
  const choice = await builderOf(
    target.endpoints.find((endpoint) => endpoint.region === probe.chosen) as Endpoint,
    options.builderVersion ?? target.builderVersion ?? 'auto',
  );
  options.onBuilder?.(choice);
  const driver: BuilderDriver = new DockerDriver({
    builder: choice.builder,
    product: choice.product,
    compress: options.compress,
    prepared: options.prepared,
    session: options.buildkitSession,
    auth: options.registryAuth,
  });
  return new BuildSession({
    ...options,
    target,
    driver,
    regions: failoverOrder(probe.probes, probe.chosen),
    reason: probe.reason,
  });
}

/** Asks the chosen engine which builder it has (the headers of one more GET /_ping). */
async function builderOf(endpoint: Endpoint, asked: BuilderVersion): Promise<BuilderChoice> {
  const connection = connect(endpoint);
  try {
    return chooseDockerBuilder(await ping(connection, AbortSignal.timeout(10_000)), asked);
  } finally {
    await connection.dispatcher.destroy().catch(() => undefined);
  }
}

/** A push to a balena target: its endpoints in order, a pinned one first (balena's builder is not probed). */
function balenaSession(options: StartBuildOptions, pinned: string | null): BuildSession {
  const { target } = options;
  const balena = options.balena;
  if (!balena) throw new SlipwayError('E_TOKEN_MISSING', `The balena target ${target.name} needs an API token`);
  const fleet = balena.build?.fleet ?? target.fleet;
  if (!fleet) {
    throw new SlipwayError('E_BAD_INPUT', `The balena target ${target.name} names no fleet`, {
      hint: 'Set its fleet (ORG/FLEET) in the settings.',
    });
  }
  const given =
    target.endpoints.length > 0 ? target.endpoints : [{ region: 'balena-cloud', url: DEFAULT_BALENA_BUILDER_URL }];
  const first = given.find((endpoint) => endpoint.region === pinned);
  const endpoints = first ? [first, ...given.filter((endpoint) => endpoint !== first)] : given;
  const driver = new BalenaDriver({
    token: balena.token,
    endpoints,
    apiOrigin: balena.apiOrigin,
    registrySecretsFile: balena.registrySecretsFile,
    dataDir: options.dataDir,
    build: {
      dockerfilePath: target.balena?.dockerfilePath ?? null,
      emulated: target.balena?.emulated ?? false,
      draft: target.balena?.draft ?? false,
      nocache: options.noCache ?? false,
      ...balena.build,
      fleet: parseFleet(fleet),
    },
  });
  return new BuildSession({
    ...options,
    target: { ...target, endpoints, fleet },
    driver,
    regions: endpoints.map((endpoint) => endpoint.region),
    reason: first
      ? `region ${first.region} chosen`
      : endpoints.length === 1
        ? 'the only builder'
        : `target ${target.name}`,
  });
}
