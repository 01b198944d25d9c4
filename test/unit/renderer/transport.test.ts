import { describe, expect, it, vi } from 'vitest';
import type { SlipwayBridge } from '../../../src/shared/request-answer';

describe('the window’s Electron transport', () => {
  it('gives a request’s result, and turns an { error } envelope into an error with its code and hint', async () => {
    const invoke = vi.fn(async (input: unknown) =>
      (input as { buildId: string }).buildId === 'missing'
        ? { error: { code: 'E_BAD_INPUT', message: 'No build missing', hint: 'Pick one from history.' } }
        : { result: { id: 'b1' } },
    );
    const bridge = { 'build.get': invoke, onEvent: () => () => undefined } as unknown as SlipwayBridge;
    vi.stubGlobal('window', { slipway: bridge });
    const { slipway, mode, ContractError } = await import('../../../src/renderer/src/transport');
    expect(mode).toBe('electron');
    await expect(slipway['build.get']({ buildId: 'b1' })).resolves.toEqual({ id: 'b1' });
    const error = await slipway['build.get']({ buildId: 'missing' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ContractError);
    expect(error).toMatchObject({ code: 'E_BAD_INPUT', message: 'No build missing', hint: 'Pick one from history.' });
    vi.unstubAllGlobals();
  });
});
