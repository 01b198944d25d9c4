import { resolveDataDir } from '../core/data-dir';
import { SlipwayError } from '../shared/errors';
import { type BoundName, boundMessage, bounds, parseWholeNumber } from '../shared/numbers';

/**
 * A numeric option as typed (`--samples 5`), parsed by the shared strict parser within its bound:
 * `0x10`, `1e1`, `-1`, `2.5` and numbers past the bound are E_BAD_INPUT naming the option.
 */
export function numberOption(text: string | undefined, option: string, bound: BoundName): number | undefined {
  if (text === undefined) return undefined;
  const value = parseWholeNumber(text, bounds[bound]);
  if (value === null) throw new SlipwayError('E_BAD_INPUT', `--${option} ${boundMessage(bounds[bound], text)}`);
  return value;
}

/** --data-dir as given (an empty one is an error, not the current folder), else the default. */
export function dataDirOption(values: { 'data-dir'?: string }): string {
  return resolveDataDir(values['data-dir']);
}
