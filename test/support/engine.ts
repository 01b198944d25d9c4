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

/** The labels of the image under a tag on the engine at a unix:// URL (Config.Labels), or null without one. */
export async function imageLabels(url: string, tag: string): Promise<Record<string, string> | null> {
  const dispatcher = new Agent({ connect: { socketPath: url.replace('unix://', '') } });
  try {
    const response = await request(`http://localhost/images/${encodeURIComponent(tag)}/json`, { dispatcher });
    if (response.statusCode !== 200) {
      await response.body.dump();
      return null;
    }
    const image = (await response.body.json()) as { Config?: { Labels?: Record<string, string> | null } };
    return image.Config?.Labels ?? {};
  } finally {
    await dispatcher.close();
  }
}

/** The private Docker Engine's URL; when there is none, says why once and lets the suite skip. */
export function dockerUrl(): string {
  const url = inject('dockerUrl');
  if (!url) console.warn(`Skipped: ${inject('dockerMissing')}`);
  return url;
}
