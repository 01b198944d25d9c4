import { Agent, request } from 'undici';
import { inject } from 'vitest';

/** The private engine's URL; when there is none, says why once and lets the suite skip. */
export function engineUrl(): string {
  const url = inject('engineUrl');
  if (!url) console.warn(`Skipped: ${inject('engineMissing')}`);
  return url;
}

/** Asks the engine at a unix:// URL whether it holds an image under this tag (GET /images/<tag>/json). */
export async function imageExists(url: string, tag: string): Promise<boolean> {
  const dispatcher = new Agent({ connect: { socketPath: url.replace('unix://', '') } });
  try {
    const response = await request(`http://localhost/images/${encodeURIComponent(tag)}/json`, { dispatcher });
    await response.body.dump();
    return response.statusCode === 200;
  } finally {
    await dispatcher.close();
  }
}
