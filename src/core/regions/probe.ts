import type { Endpoint, EngineInfo, ProbeResult, RegionProbe } from '../../shared/domain';
import { SlipwayError, toErrorInfo } from '../../shared/errors';
import { boundMessage, bounds, withinBound } from '../../shared/numbers';
import { ping } from '../builders/docker/request';
import { type Connection, connect } from '../builders/endpoint';
import { redactUrl } from '../builders/endpoint-url';
import { engineInfo } from '../builders/engine-info';
import { chooseRegion, median } from './choose';

export interface ProbeOptions {
  /** Round trips per endpoint per round (default 5). */
  samples?: number;
  /** An endpoint that has not answered by then counts as failed for this round (default 3000 ms). */
  timeoutMs?: number;
  previous?: string | null;
  pinned?: string | null;
  /**
   * Also ask each engine what it is (GET /version, once per warm endpoint) and wait up to
   * engineTimeoutMs for it. It is sent after the round and is not in durationMs: Podman takes most of a
   * second to answer /version, which says nothing about the link.
   */
  waitForEngine?: boolean;
  /** How long to wait for /version when waitForEngine is set (default 10 s: Podman is slow to answer it). */
  engineTimeoutMs?: number;
}

/** One socket of a probe: its own pool of one, and how long its last connect took. */
interface Lane {
  connection: Connection;
  connectedMs: number | null;
}

interface WarmEndpoint {
  lanes: Lane[];
  engine: EngineInfo | null;
  /** GET /version, started after a round (never beside the timed pings) the first time it is wanted. */
  engineRequest: Promise<EngineInfo | null> | null;
  handshakeMs: number | null;
}

/**
 * Probes the endpoints of a target, keeping `samples` warm connections per endpoint between rounds.
 * Each round sends one ping on each of them at once, so a round lasts about one round trip of the
 * slowest region. Each connect (TCP, and TLS) is timed on its own: a ping that had to open its socket
 * counts as the round trip it took after the handshake, and the handshake is reported apart. The choice
 * looks at the median of each region's last few rounds, so one round hit by a stall does not move it.
 */
export class RegionProber {
  private readonly warm = new Map<string, WarmEndpoint>();
  /** Each region's medians of its last rounds, newest last. */
  private readonly history = new Map<string, number[]>();
  private closed = false;

  constructor(private readonly endpoints: Endpoint[]) {}

  /** One probe round over every endpoint in parallel, then the choice and its reason. */
  async probe(options: ProbeOptions = {}): Promise<ProbeResult> {
    if (this.closed) throw new SlipwayError('E_INTERNAL', 'The region prober is closed');
    // Each sample is a warm connection held open: the bound keeps a typo from opening thousands.
    if (options.samples !== undefined && !withinBound(options.samples, bounds.samples)) {
      throw new SlipwayError('E_BAD_INPUT', `samples ${boundMessage(bounds.samples, options.samples)}`);
    }
    const startedMs = performance.now();
    const probes = await Promise.all(this.endpoints.map((endpoint) => this.probeOne(endpoint, options)));
    const durationMs = Math.round(performance.now() - startedMs);
    if (options.waitForEngine) {
      await Promise.all(
        probes.map(async (probe, index) => {
          const pool = this.warm.get(keyOf(this.endpoints[index] as Endpoint));
          if (!pool || probe.engine) return;
          pool.engineRequest ??= engineInfo((pool.lanes[0] as Lane).connection).then(
            (info) => {
              pool.engine = info;
              return info;
            },
            () => null,
          );
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<null>((resolve) => {
            timer = setTimeout(resolve, options.engineTimeoutMs ?? 10_000, null);
          });
          probe.engine = await Promise.race([pool.engineRequest, timeout]);
          clearTimeout(timer);
        }),
      );
    }
    const recent = probes.map((probe) => {
      if (probe.medianMs === null) {
        this.history.delete(probe.region);
        return probe;
      }
      const medians = [...(this.history.get(probe.region) ?? []), probe.medianMs].slice(-HISTORY_ROUNDS);
      this.history.set(probe.region, medians);
      return { ...probe, medianMs: round(median(medians)) };
    });
    const choice = chooseRegion(recent, options);
    return { probes, ...choice, durationMs };
  }

  /** Closes every warm connection. */
  async close(): Promise<void> {
    this.closed = true;
    const pools = [...this.warm.values()];
    this.warm.clear();
    await Promise.all(pools.flatMap((pool) => pool.lanes.map((lane) => closeLane(lane))));
  }

  private async probeOne(endpoint: Endpoint, options: ProbeOptions): Promise<RegionProbe> {
    const samples = Math.max(1, options.samples ?? 5);
    const signal = AbortSignal.timeout(options.timeoutMs ?? 3000);
    const key = keyOf(endpoint);
    const failed = (error: unknown): RegionProbe => {
      // A failed endpoint starts cold next round: its sockets may be half dead.
      const pool = this.warm.get(key);
      this.warm.delete(key);
      for (const lane of pool?.lanes ?? []) void closeLane(lane);
      const label = redactUrl(endpoint.url);
      const info = signal.aborted
        ? {
            code: 'E_BUILDER_UNREACHABLE' as const,
            message: `No answer from ${label} within ${options.timeoutMs ?? 3000} ms`,
          }
        : toErrorInfo(error);
      return {
        region: endpoint.region,
        url: label,
        medianMs: null,
        spreadMs: null,
        handshakeMs: null,
        samples: [],
        engine: pool?.engine ?? null,
        error: info,
      };
    };
    try {
      let pool = this.warm.get(key);
      if (!pool) {
        const lanes = Array.from({ length: samples }, () => {
          const lane: Lane = { connection: null as unknown as Connection, connectedMs: null };
          lane.connection = connect(endpoint, {
            connections: 1,
            onConnected: (handshakeMs) => {
              lane.connectedMs = handshakeMs;
            },
          });
          return lane;
        });
        pool = { lanes, engine: null, engineRequest: null, handshakeMs: null };
        this.warm.set(key, pool);
      }
      const handshakes: number[] = [];
      const sampleMs = await Promise.all(
        pool.lanes.map(async (lane) => {
          lane.connectedMs = null;
          const startMs = performance.now();
          await ping(lane.connection, signal);
          const totalMs = performance.now() - startMs;
          if (lane.connectedMs === null) return totalMs;
          // This ping opened its socket first: the round trip is what it took after the handshake.
          handshakes.push(lane.connectedMs);
          return Math.max(0, totalMs - lane.connectedMs);
        }),
      );
      if (handshakes.length > 0) pool.handshakeMs = median(handshakes);
      return {
        region: endpoint.region,
        url: (pool.lanes[0] as Lane).connection.label,
        medianMs: round(median(sampleMs)),
        spreadMs: round(Math.max(...sampleMs) - Math.min(...sampleMs)),
        handshakeMs: pool.handshakeMs === null ? null : round(pool.handshakeMs),
        samples: sampleMs.map(round),
        engine: pool.engine,
        error: null,
      };
    } catch (error) {
      return failed(error);
    }
  }
}

function closeLane(lane: Lane): Promise<void> {
  return lane.connection.dispatcher.destroy().catch(() => undefined);
}

/** Rounds a region's choice looks back over. */
const HISTORY_ROUNDS = 3;

const keyOf = (endpoint: Endpoint) => `${endpoint.region}\u0000${endpoint.url}`;

const round = (value: number) => Math.round(value * 10) / 10;

/** Probes a set of endpoints once, closing the connections afterwards. */
export async function probeRegions(endpoints: Endpoint[], options: ProbeOptions = {}): Promise<ProbeResult> {
  const prober = new RegionProber(endpoints);
  try {
    return await prober.probe({ waitForEngine: true, ...options });
  } finally {
    await prober.close();
  }
}
