import type { Endpoint, EngineInfo, ProbeResult, RegionProbe } from '../../shared/domain';
import { SlipwayError, toErrorInfo } from '../../shared/errors';
import { ping } from '../builders/docker';
import { type Connection, connect, redactUrl } from '../builders/endpoint';
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
   * Also wait (up to the timeout) for each engine's GET /version before answering. The round's
   * durationMs does not include that wait: Podman takes most of a second to answer /version, which
   * says nothing about the link.
   */
  waitForEngine?: boolean;
  /** How long to wait for /version when waitForEngine is set (default 10 s: Podman is slow to answer it). */
  engineTimeoutMs?: number;
}

interface WarmEndpoint {
  connection: Connection;
  engine: EngineInfo | null;
  /** GET /version, started after a round (never beside the timed pings) the first time it is wanted. */
  engineRequest: Promise<EngineInfo | null> | null;
  handshakeMs: number | null;
}

/**
 * Probes the endpoints of a target, keeping one pool of warm connections per endpoint between rounds.
 * Each round sends `samples` pings per endpoint at once, one per warm connection, so a round lasts about
 * one round trip of the slowest region (two on the first round, which opens the connections); the
 * handshake is measured on that first round and reported apart from the round trips. The choice
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
    const startedMs = performance.now();
    const probes = await Promise.all(this.endpoints.map((endpoint) => this.probeOne(endpoint, options)));
    const durationMs = Math.round(performance.now() - startedMs);
    if (options.waitForEngine) {
      await Promise.all(
        probes.map(async (probe, index) => {
          const pool = this.warm.get(keyOf(this.endpoints[index] as Endpoint));
          if (!pool || probe.engine) return;
          pool.engineRequest ??= engineInfo(pool.connection).then(
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
    await Promise.all(pools.map((pool) => pool.connection.dispatcher.destroy().catch(() => undefined)));
  }

  private async probeOne(endpoint: Endpoint, options: ProbeOptions): Promise<RegionProbe> {
    const samples = Math.max(1, options.samples ?? 5);
    const signal = AbortSignal.timeout(options.timeoutMs ?? 3000);
    const key = keyOf(endpoint);
    const failed = (error: unknown): RegionProbe => {
      // A failed endpoint starts cold next round: its sockets may be half dead.
      const pool = this.warm.get(key);
      this.warm.delete(key);
      void pool?.connection.dispatcher.destroy().catch(() => undefined);
      const info = signal.aborted
        ? {
            code: 'E_BUILDER_UNREACHABLE' as const,
            message: `No answer from ${pool?.connection.label ?? endpoint.region} within ${options.timeoutMs ?? 3000} ms`,
          }
        : toErrorInfo(error);
      return {
        region: endpoint.region,
        url: pool?.connection.label ?? redactUrl(endpoint.url),
        medianMs: null,
        spreadMs: null,
        handshakeMs: null,
        samples: [],
        engine: pool?.engine ?? null,
        error: info,
      };
    };
    let pool = this.warm.get(key);
    const cold = !pool;
    try {
      if (!pool) {
        // One more connection than samples, for GET /version when it is asked for.
        pool = {
          connection: connect(endpoint, { connections: samples + 1 }),
          engine: null,
          engineRequest: null,
          handshakeMs: null,
        };
        this.warm.set(key, pool);
      }
      const connection = pool.connection;
      const timed = async () => {
        const start = performance.now();
        await ping(connection, signal);
        return performance.now() - start;
      };
      // Each sample on its own connection. A cold one first opens it with a ping of its own, and goes
      // on as soon as that returned: what the opening ping cost beyond a warm one is the handshake.
      const pairs = await Promise.all(
        Array.from({ length: samples }, async () => {
          const coldMs = cold ? await timed() : null;
          return { coldMs, warmMs: await timed() };
        }),
      );
      const sampleMs = pairs.map((pair) => pair.warmMs);
      const coldMs = cold ? median(pairs.map((pair) => pair.coldMs as number)) : null;
      const medianMs = median(sampleMs);
      // The cold requests paid for connect (and TLS) plus one round trip: the handshake is the extra.
      if (coldMs !== null) pool.handshakeMs = Math.max(0, coldMs - medianMs);
      return {
        region: endpoint.region,
        url: connection.label,
        medianMs: round(medianMs),
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
