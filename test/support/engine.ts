import { inject } from 'vitest';

/** The private engine's URL; when there is none, says why once and lets the suite skip. */
export function engineUrl(): string {
  const url = inject('engineUrl');
  if (!url) console.warn(`Skipped: ${inject('engineMissing')}`);
  return url;
}
