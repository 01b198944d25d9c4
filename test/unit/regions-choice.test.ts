import { describe, expect, it } from 'vitest';
import { chooseRegion, failoverOrder, median } from '../../src/core/regions/choose';
import type { RegionProbe } from '../../src/shared/domain';

function probe(region: string, medianMs: number | null): RegionProbe {
  return {
    region,
    url: `tcp://${region}:2375`,
    medianMs,
    spreadMs: medianMs === null ? null : 1,
    handshakeMs: null,
    samples: medianMs === null ? [] : [medianMs],
    engine: null,
    error: medianMs === null ? { code: 'E_BUILDER_UNREACHABLE', message: 'ECONNREFUSED' } : null,
  };
}

describe('choosing a region', () => {
  it('takes the median of odd and even counts', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('chooses the lowest median and says so', () => {
    const choice = chooseRegion([probe('eu', 40), probe('us', 120), probe('local', 5)]);
    expect(choice).toEqual({ chosen: 'local', reason: 'lowest median 5 ms, next eu 40 ms' });
  });

  it('keeps the previous region while the best is not clearly faster', () => {
    const choice = chooseRegion([probe('eu', 40), probe('us', 36)], { previous: 'eu' });
    expect(choice.chosen).toBe('eu');
    expect(choice.reason).toBe('kept eu (40 ms): us (36 ms) is not clearly faster');
  });

  it('moves when the best is clearly faster than the previous region', () => {
    expect(chooseRegion([probe('eu', 40), probe('us', 20)], { previous: 'eu' }).chosen).toBe('us');
  });

  it('does not flap on a fast link where a few ms are jitter', () => {
    expect(chooseRegion([probe('a', 6), probe('b', 3)], { previous: 'a' }).chosen).toBe('a');
  });

  it('leaves a previous region that stopped answering', () => {
    expect(chooseRegion([probe('eu', null), probe('us', 90)], { previous: 'eu' })).toEqual({
      chosen: 'us',
      reason: 'lowest median 90 ms',
    });
  });

  it('lets a pinned region win over a faster one', () => {
    expect(chooseRegion([probe('eu', 40), probe('us', 120)], { pinned: 'us' })).toEqual({
      chosen: 'us',
      reason: 'pinned',
    });
  });

  it('falls back from a pinned region that does not answer, and says why', () => {
    const choice = chooseRegion([probe('eu', 40), probe('us', null)], { pinned: 'us' });
    expect(choice.chosen).toBe('eu');
    expect(choice.reason).toBe('pinned us did not answer (E_BUILDER_UNREACHABLE); lowest median 40 ms');
  });

  it('chooses nothing when no region answered', () => {
    expect(chooseRegion([probe('eu', null)])).toEqual({ chosen: null, reason: 'no region answered' });
  });

  it('tries the chosen region first, then the others fastest first, leaving out the dead ones', () => {
    const probes = [probe('eu', 40), probe('us', 120), probe('local', 5), probe('gone', null)];
    expect(failoverOrder(probes, 'us')).toEqual(['us', 'local', 'eu']);
  });
});
