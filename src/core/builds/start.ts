import type { BuilderTarget, Endpoint, ProbeResult } from '../../shared/domain';
import { SlipwayError } from '../../shared/errors';
import type { BalenaBuildOptions } from '../builders/balena/api';
import type { AuthSource } from '../builders/buildkit-session/auth';
import { type BuilderChoice, type BuilderVersion, chooseDockerBuilder } from '../builders/docker/builder-choice';
import { DockerDriver } from '../builders/docker/driver';
import { RegionalDockerDriver } from '../builders/docker/regional-driver';
import { ping } from '../builders/docker/request';
import type { BuilderDriver } from '../builders/driver';
import { type Connection, connect } from '../builders/endpoint';
import { registryAuthOnce, registryConfigOnce } from '../builders/registry-auth';
import { failoverOrder } from '../regions/choose';
import { probeRegions } from '../regions/probe';
import { BuildSession, type BuildSessionOptions } from './session';

export interface StartBuildOptions
  extends Omit<BuildSessionOptions, 'target' | 'endpoint' | 'driver' | 'regions' | 'reason' | 'connection'> {
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
  /** docker: where registry credentials are looked up (DOCKER_CONFIG, HOME, PATH for helpers); default process.env. */
  env?: NodeJS.ProcessEnv;
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
  const only = target.endpoints.length === 1 && !options.probe ? (target.endpoints[0] as Endpoint) : null;
  // One region leaves nothing to choose: no probe round, the builder's own ping says whether it answers.
  const version = options.builderVersion ?? target.builderVersion ?? 'auto';
  const { probe, choice, connection } = only ? await onlyRegion(only, version) : await probedRegion(options, pinned);
  try {
    options.onProbed?.(probe);
    options.onBuilder?.(choice);
    return dockerSession(options, probe, choice, connection);
  } catch (error) {
    await connection.dispatcher.destroy().catch(() => undefined);
    throw error;
  }
}

/** The session of a docker target, its first region chosen (and open on `connection`) by the probe. */
function dockerSession(
  options: StartBuildOptions,
  probe: ProbeResult,
  choice: BuilderChoice,
  connection: Connection,
): BuildSession {
  const { target } = options;
  const version = options.builderVersion ?? target.builderVersion ?? 'auto';
  const registryConfig = registryConfigOnce(options.env);
  const auth = options.registryAuth ?? registryAuthOnce(options.env);
  const dockerDriver = (chosen: BuilderChoice, prepared?: StartBuildOptions['prepared']) =>
    new DockerDriver({
      builder: chosen.builder,
      product: chosen.product,
      compress: options.compress,
      prepared,
      registryConfig,
      session: options.buildkitSession,
      auth,
    });
  const first = dockerDriver(choice, options.prepared);
  // Another region may run another engine: a job that fails over to it builds with that engine's builder.
  const driver: BuilderDriver =
    target.endpoints.length === 1
      ? first
      : new RegionalDockerDriver({ region: probe.chosen as string, driver: first }, async (other, signal) =>
          dockerDriver(chooseDockerBuilder(await ping(other, signal), version)),
        );
  return new BuildSession({
    ...options,
    target,
    driver,
    regions: failoverOrder(probe.probes, probe.chosen as string),
    reason: probe.reason,
    connection,
  });
}

/** The region a build starts in, the builder its engine has, and a connection to it already open. */
interface RegionChoice {
  probe: ProbeResult;
  choice: BuilderChoice;
  connection: Connection;
}

/** Probes the target's regions (or lets the caller do it) and asks the chosen one's engine which builder it has. */
async function probedRegion(options: StartBuildOptions, pinned: string | null): Promise<RegionChoice> {
  const { target } = options;
  // The build needs latencies, not /version (Podman takes most of a second to answer it).
  const probe = options.probe
    ? await options.probe(target, pinned)
    : await probeRegions(target.endpoints, { samples: 3, pinned, waitForEngine: false });
  if (!probe.chosen) {
    options.onProbed?.(probe);
    throw unreachable(probe.probes.map((entry) => entry.error?.message ?? `${entry.url}: no answer`));
  }
  const endpoint = target.endpoints.find((entry) => entry.region === probe.chosen) as Endpoint;
  const connection = connect(endpoint);
  try {
    const choice = await builderOf(connection, options.builderVersion ?? target.builderVersion ?? 'auto');
    return { probe, choice, connection };
  } catch (error) {
    await connection.dispatcher.destroy().catch(() => undefined);
    throw error;
  }
}

/**
 * The only region of a target: one GET /_ping, which says which builder the engine has and whether it
 * answers at all (a failure is the error a probe round would give). Its round trip is the region's one
 * sample, the connect timed apart as a probe does. The connection stays open for the build.
 */
async function onlyRegion(endpoint: Endpoint, asked: BuilderVersion): Promise<RegionChoice> {
  let handshakeMs: number | null = null;
  const connection = connect(endpoint, {
    onConnected: (ms) => {
      handshakeMs = ms;
    },
  });
  const startedMs = performance.now();
  try {
    const choice = await builderOf(connection, asked);
    const totalMs = performance.now() - startedMs;
    const roundTripMs = Math.round(Math.max(0, totalMs - (handshakeMs ?? 0)) * 10) / 10;
    const probe: ProbeResult = {
      probes: [
        {
          region: endpoint.region,
          url: connection.label,
          medianMs: roundTripMs,
          spreadMs: 0,
          handshakeMs: handshakeMs === null ? null : Math.round(handshakeMs * 10) / 10,
          samples: [roundTripMs],
          engine: null,
          error: null,
        },
      ],
      chosen: endpoint.region,
      reason: 'the only region',
      durationMs: Math.round(totalMs),
    };
    return { probe, choice, connection };
  } catch (error) {
    await connection.dispatcher.destroy().catch(() => undefined);
    throw unreachable([(error as Error).message], error);
  }
}

function unreachable(failures: string[], cause?: unknown): SlipwayError {
  return new SlipwayError('E_BUILDER_UNREACHABLE', `No builder answered: ${failures.join('; ')}`, {
    hint: 'Check that the engine is running and the URL is right (see DOCKER_HOST).',
    cause,
  });
}

/** Asks an engine which builder it has (the headers of one GET /_ping). */
async function builderOf(connection: Connection, asked: BuilderVersion): Promise<BuilderChoice> {
  return chooseDockerBuilder(await ping(connection, AbortSignal.timeout(10_000)), asked);
}

/** A push to a balena target: its endpoints in order, a pinned one first (balena's builder is not probed). */
async function balenaSession(options: StartBuildOptions, pinned: string | null): Promise<BuildSession> {
  const { target } = options;
  const balena = options.balena;
  if (!balena) throw new SlipwayError('E_TOKEN_MISSING', `The balena target ${target.name} needs an API token`);
  const fleet = balena.build?.fleet ?? target.fleet;
  if (!fleet) {
    throw new SlipwayError('E_BAD_INPUT', `The balena target ${target.name} names no fleet`, {
      hint: 'Set its fleet (ORG/FLEET) in the settings.',
    });
  }
  // balena's API and its packer (tar-fs) are loaded for a push only.
  const [{ DEFAULT_BALENA_BUILDER_URL, parseFleet }, { BalenaDriver }] = await Promise.all([
    import('../builders/balena/api'),
    import('../builders/balena/driver'),
  ]);
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
