import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegionProber } from '../../src/core/regions/probe';
import { runCli } from '../support/cli';
import { engineUrl } from '../support/engine';
import { type LatencyProxy, startLatencyProxy } from '../support/latency-proxy';

const url = engineUrl();
const REGIONS = [
  { region: 'near', roundTripMs: 5 },
  { region: 'mid', roundTripMs: 40 },
  { region: 'far', roundTripMs: 120 },
];

describe.skipIf(!url)('region probes in front of the real engine', () => {
  const proxies: LatencyProxy[] = [];
  beforeAll(async () => {
    for (const region of REGIONS) {
      proxies.push(await startLatencyProxy({ upstream: url, roundTripMs: region.roundTripMs, jitter: 0.2 }));
    }
  });
  afterAll(async () => {
    await Promise.all(proxies.map((proxy) => proxy.close()));
  });
  const endpoints = () =>
    REGIONS.map((region, index) => ({ region: region.region, url: (proxies[index] as LatencyProxy).url }));

  it('chooses the 5 ms region in 100 of 100 rounds, each round within twice the slowest median plus 100 ms', async () => {
    const prober = new RegionProber(endpoints());
    const chosen: Record<string, number> = {};
    const late: string[] = [];
    let previous: string | null = null;
    let longestRoundMs = 0;
    try {
      for (let round = 0; round < 100; round++) {
        const result = await prober.probe({ previous });
        previous = result.chosen;
        longestRoundMs = Math.max(longestRoundMs, result.durationMs);
        chosen[result.chosen ?? 'none'] = (chosen[result.chosen ?? 'none'] ?? 0) + 1;
        const slowestMs = Math.max(...result.probes.map((probe) => probe.medianMs ?? Number.POSITIVE_INFINITY));
        if (result.durationMs > 2 * slowestMs + 100)
          late.push(`round ${round}: ${result.durationMs} ms, slowest median ${slowestMs} ms`);
        if (round === 0) {
          console.log(
            JSON.stringify(
              result.probes.map(({ region, medianMs, spreadMs, handshakeMs }) => ({
                region,
                medianMs,
                spreadMs,
                handshakeMs,
              })),
            ),
          );
          expect(result.reason).toMatch(/^lowest median \d+ ms/);
        }
      }
    } finally {
      await prober.close();
    }
    console.log(
      `choices over 100 rounds: ${JSON.stringify(chosen)}; late rounds: ${JSON.stringify(late)}; longest round ${longestRoundMs} ms`,
    );
    expect(chosen).toEqual({ near: 100 });
    expect(late).toEqual([]);
  });

  it('prints every region and the choice with --json, and marks a region that refuses as unreachable', async () => {
    const refusing = await startLatencyProxy({ upstream: url, roundTripMs: 1 });
    await refusing.refuse();
    const args = [...endpoints(), { region: 'gone', url: refusing.url }].flatMap((endpoint) => [
      '--builder',
      `${endpoint.region}=${endpoint.url}`,
    ]);
    const run = await runCli(['probe', ...args, '--json']);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.chosen).toBe('near');
    expect(result.reason).toContain('lowest median');
    expect(result.probes.map((probe: { region: string }) => probe.region)).toEqual(['near', 'mid', 'far', 'gone']);
    const gone = result.probes[3];
    expect(gone.medianMs).toBeNull();
    expect(gone.error.code).toBe('E_BUILDER_UNREACHABLE');
    const far = result.probes[2];
    expect(far.medianMs).toBeGreaterThan(90);
    expect(far.samples).toHaveLength(5);
    const table = await runCli(['probe', ...args]);
    expect(table.stdout).toMatch(/^\* near +median [\d.]+ ms +spread [\d.]+ ms +handshake [\d.]+ ms +podman /m);
    expect(table.stdout).toMatch(/^ {2}gone +unreachable +E_BUILDER_UNREACHABLE/m);
    expect(table.stdout).toMatch(/^chosen: near \(lowest median \d+ ms, next mid \d+ ms\)$/m);
    expect(result.probes.slice(0, 3).map((probe: { engine: { product: string } }) => probe.engine.product)).toEqual([
      'podman',
      'podman',
      'podman',
    ]);
  });
});
