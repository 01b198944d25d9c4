import type { BuilderTarget, Settings } from '../../shared/domain';
import { SlipwayError } from '../../shared/errors';
import { redactUrl } from '../builders/endpoint-url';

const SCHEMES = new Set(['unix:', 'tcp:', 'http:', 'https:']);

function checkTarget(target: BuilderTarget): void {
  const regions = new Set<string>();
  for (const endpoint of target.endpoints) {
    let scheme = '';
    try {
      scheme = new URL(endpoint.url).protocol;
    } catch {
      // Reported below with the URL.
    }
    if (!SCHEMES.has(scheme)) {
      throw new SlipwayError('E_BAD_INPUT', `Target ${target.name}: not a builder URL: ${redactUrl(endpoint.url)}`, {
        hint: 'Use unix:///path.sock, tcp://host:port or http(s)://host:port.',
      });
    }
    if (regions.has(endpoint.region)) {
      throw new SlipwayError('E_BAD_INPUT', `Target ${target.name}: region ${endpoint.region} is given twice`);
    }
    regions.add(endpoint.region);
  }
}

/** Checks settings before they are saved: known URL schemes, distinct names and regions, a default that exists. */
export function validateSettings(settings: Settings): void {
  const names = new Set<string>();
  for (const target of settings.targets) {
    if (names.has(target.name)) throw new SlipwayError('E_BAD_INPUT', `Two targets are named ${target.name}`);
    names.add(target.name);
    checkTarget(target);
  }
  if (settings.defaultTarget !== null && !names.has(settings.defaultTarget)) {
    throw new SlipwayError('E_BAD_INPUT', `The default target ${settings.defaultTarget} is not among the targets`);
  }
}
