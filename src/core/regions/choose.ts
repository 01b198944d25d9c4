import type { RegionProbe } from '../../shared/domain';

export interface ChoiceOptions {
  /** The region chosen last time; it stays unless the new best is clearly better. */
  previous?: string | null;
  /** A pinned region wins whenever it answered. */
  pinned?: string | null;
  /** The new best must be at least this fraction faster than the previous choice (default 0.2). */
  switchRatio?: number;
  /** ... and at least this many ms faster, so jitter on a fast link does not flap (default 5 ms). */
  switchMs?: number;
}

export interface RegionChoice {
  chosen: string | null;
  reason: string;
}

/** The median of a list of numbers (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

const ms = (value: number) => `${Math.round(value)} ms`;

/** Regions that answered, fastest median first. */
export function rankRegions(probes: RegionProbe[]): RegionProbe[] {
  return probes
    .filter((probe) => probe.medianMs !== null)
    .sort((a, b) => (a.medianMs as number) - (b.medianMs as number));
}

/**
 * Chooses a region from a probe round: a pinned region that answered wins; otherwise the lowest
 * median, except that the previous choice stays while the best is not clearly faster (no flapping).
 */
export function chooseRegion(probes: RegionProbe[], options: ChoiceOptions = {}): RegionChoice {
  const ranked = rankRegions(probes);
  const pinnedNote = (() => {
    if (!options.pinned) return '';
    const pinned = probes.find((probe) => probe.region === options.pinned);
    if (!pinned) return `pinned ${options.pinned} is not an endpoint of this target; `;
    return `pinned ${options.pinned} did not answer (${pinned.error?.code ?? 'no reply'}); `;
  })();
  if (options.pinned && ranked.some((probe) => probe.region === options.pinned)) {
    return { chosen: options.pinned, reason: 'pinned' };
  }
  const best = ranked[0];
  if (!best) return { chosen: null, reason: `${pinnedNote}no region answered` };
  const previous = ranked.find((probe) => probe.region === options.previous);
  if (previous && previous !== best) {
    const previousMs = previous.medianMs as number;
    const bestMs = best.medianMs as number;
    const clearly =
      bestMs <= previousMs * (1 - (options.switchRatio ?? 0.2)) && previousMs - bestMs >= (options.switchMs ?? 5);
    if (!clearly) {
      return {
        chosen: previous.region,
        reason: `${pinnedNote}kept ${previous.region} (${ms(previousMs)}): ${best.region} (${ms(bestMs)}) is not clearly faster`,
      };
    }
  }
  const runnerUp = ranked[1];
  const margin = runnerUp ? `, next ${runnerUp.region} ${ms(runnerUp.medianMs as number)}` : '';
  return { chosen: best.region, reason: `${pinnedNote}lowest median ${ms(best.medianMs as number)}${margin}` };
}

/** The order a task tries regions in: the chosen one, then the others that answered, fastest first. */
export function failoverOrder(probes: RegionProbe[], chosen: string): string[] {
  return [chosen, ...rankRegions(probes).map((probe) => probe.region)].filter(
    (region, index, all) => all.indexOf(region) === index,
  );
}
