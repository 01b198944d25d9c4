import type { BuiltImage } from '../../../shared/domain';
import { SlipwayError } from '../../../shared/errors';
import type { Connection } from '../endpoint';
import { transportError } from '../http-errors';
import { request } from '../undici';

/** An image's inspect document holds its config and history: large, but never this large. */
const MAX_INSPECT_BYTES = 4 * 1024 * 1024;

/** GET /images/{id}/json: the built image's id, tags and size, as the engine describes it. */
export async function inspectImage(connection: Connection, imageId: string, signal?: AbortSignal): Promise<BuiltImage> {
  const endpoint = `GET /images/${imageId}/json`;
  let body: string;
  try {
    const response = await request(`${connection.origin}/images/${encodeURIComponent(imageId)}/json`, {
      dispatcher: connection.dispatcher,
      signal,
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new SlipwayError(
        response.statusCode === 404 ? 'E_BUILDER_PROTOCOL' : 'E_BUILDER_REJECTED',
        `The builder at ${connection.label} answered ${response.statusCode} to ${endpoint}`,
      );
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of response.body) {
      bytes += (chunk as Buffer).length;
      if (bytes > MAX_INSPECT_BYTES) {
        response.body.destroy();
        throw new SlipwayError('E_BUILDER_PROTOCOL', `${endpoint} of ${connection.label} sent over 4 MiB`);
      }
      chunks.push(chunk as Buffer);
    }
    body = Buffer.concat(chunks).toString('utf8');
  } catch (error) {
    throw transportError(connection, error, 'connect');
  }
  let document: { Id?: unknown; RepoTags?: unknown; Size?: unknown };
  try {
    document = JSON.parse(body) as typeof document;
  } catch {
    throw new SlipwayError('E_BUILDER_PROTOCOL', `${endpoint} of ${connection.label} is not JSON`);
  }
  if (typeof document.Id !== 'string' || typeof document.Size !== 'number') {
    throw new SlipwayError('E_BUILDER_PROTOCOL', `${endpoint} of ${connection.label} has no Id or Size`);
  }
  const tags = Array.isArray(document.RepoTags)
    ? document.RepoTags.filter((tag): tag is string => typeof tag === 'string' && tag !== '<none>:<none>')
    : [];
  return { id: document.Id, tags, sizeBytes: document.Size };
}
