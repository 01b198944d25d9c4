import type { EngineInfo } from '../../shared/domain';
import { SlipwayError } from '../../shared/errors';
import type { Connection } from './endpoint';
import { transportError } from './http-errors';
import { request } from './undici';

interface VersionDocument {
  Version?: unknown;
  ApiVersion?: unknown;
  Os?: unknown;
  Arch?: unknown;
  Platform?: { Name?: unknown };
  Components?: { Name?: unknown }[];
}

/** Which engine wrote a /version document: Podman and balenaEngine name themselves in it. */
function product(document: VersionDocument): EngineInfo['product'] {
  const names = [document.Platform?.Name, ...(document.Components ?? []).map((component) => component.Name)]
    .filter((name): name is string => typeof name === 'string')
    .join(' ')
    .toLowerCase();
  if (names.includes('podman')) return 'podman';
  if (names.includes('balena')) return 'balena';
  if (names.includes('docker') || names.includes('engine')) return 'docker';
  return 'unknown';
}

const text = (value: unknown) => (typeof value === 'string' ? value : '');

/** Reads an engine's /version into the facts Slipway keeps with each endpoint. */
export function parseVersion(document: VersionDocument): EngineInfo {
  return {
    product: product(document),
    version: text(document.Version),
    apiVersion: text(document.ApiVersion),
    os: text(document.Os),
    arch: text(document.Arch),
  };
}

/** GET /version of a docker-API endpoint; bodies over 64 KiB are refused, not buffered. */
export async function engineInfo(connection: Connection, signal?: AbortSignal): Promise<EngineInfo> {
  let body: string;
  try {
    const response = await request(`${connection.origin}/version`, { dispatcher: connection.dispatcher, signal });
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new SlipwayError(
        response.statusCode === 401 || response.statusCode === 403 ? 'E_BUILDER_UNAUTHORIZED' : 'E_BUILDER_REJECTED',
        `The builder at ${connection.label} answered ${response.statusCode} to GET /version`,
      );
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of response.body) {
      bytes += (chunk as Buffer).length;
      if (bytes > 64 * 1024) {
        response.body.destroy();
        throw new SlipwayError('E_BUILDER_PROTOCOL', `GET /version of ${connection.label} sent over 64 KiB`);
      }
      chunks.push(chunk as Buffer);
    }
    body = Buffer.concat(chunks).toString('utf8');
  } catch (error) {
    throw transportError(connection, error, 'connect');
  }
  try {
    return parseVersion(JSON.parse(body) as VersionDocument);
  } catch {
    throw new SlipwayError('E_BUILDER_PROTOCOL', `GET /version of ${connection.label} is not JSON`);
  }
}
