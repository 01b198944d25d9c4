import { spawnSync } from 'node:child_process';
import { tempDir } from './fixtures';

export interface SmallDisk {
  path: string;
  /** Unmounts the file system and removes its mount point. */
  cleanup(): Promise<void>;
}

/**
 * Mounts a tmpfs of `sizeBytes` on a temp folder (read-only if asked): a real file system that really
 * fills up, or really refuses writes with EROFS. Returns
 * null, with the reason printed, when mounting is refused (not root, no CAP_SYS_ADMIN) outside CI; in
 * CI a refusal fails the test.
 */
export async function mountSmallDisk(
  sizeBytes: number,
  options: { readOnly?: boolean } = {},
): Promise<SmallDisk | null> {
  const dir = await tempDir('slipway-full-disk-');
  const mountOptions = `size=${sizeBytes}${options.readOnly ? ',ro' : ''}`;
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', mountOptions, 'tmpfs', dir.path], {
    encoding: 'utf8',
  });
  if (mounted.status !== 0) {
    await dir.cleanup();
    const reason = `mount -t tmpfs was refused (${(mounted.stderr || String(mounted.error)).trim()})`;
    if (process.env.CI) throw new Error(`The full-disk tests need a tmpfs and CI must run them: ${reason}`);
    console.warn(`Skipping the full-disk test: ${reason}`);
    return null;
  }
  return {
    path: dir.path,
    cleanup: async () => {
      spawnSync('umount', [dir.path]);
      await dir.cleanup();
    },
  };
}
