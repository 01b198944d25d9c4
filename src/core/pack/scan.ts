import type { ContextScan, SizedPath } from '../../shared/domain';
import type { ContextPlan } from './plan';
import { TAR_END_BYTES, tarEntryBytes } from './tar-size';
import { walkContext } from './walk';

/** How many of the largest files and folders a scan keeps. */
export const LARGEST_KEPT = 10;
/** Skipped entries listed one by one; past this many they are only counted in the last line. */
const SKIPPED_LISTED = 100;

/** A scan with the largest files and folders of the context. */
export interface DetailedScan extends ContextScan {
  largestFiles: SizedPath[];
  /** Folders by the bytes of content under them (nested folders counted in each ancestor). */
  largestFolders: SizedPath[];
}

/** Keeps the n largest, sorted largest first (a folder before its equally large subfolder), in O(n) memory. */
function keepLargest(list: SizedPath[], entry: SizedPath): void {
  if (list.length === LARGEST_KEPT && (list[LARGEST_KEPT - 1] as SizedPath).bytes >= entry.bytes) return;
  let index = list.findIndex(
    (kept) => kept.bytes < entry.bytes || (kept.bytes === entry.bytes && kept.path.length > entry.path.length),
  );
  if (index === -1) index = list.length;
  list.splice(index, 0, entry);
  if (list.length > LARGEST_KEPT) list.pop();
}

/**
 * Walks a context once, as the packer will send it, to count files and bytes, find the largest files
 * and folders, and compute the exact size of the tar stream. Holds one folder listing per level of depth.
 */
export async function scanContext(plan: ContextPlan): Promise<DetailedScan> {
  const scan: DetailedScan = {
    files: 0,
    bytes: 0,
    tarBytes: TAR_END_BYTES,
    skipped: [],
    largestFiles: [],
    largestFolders: [],
  };
  let skippedCount = 0;
  // Folders whose subtree is still being walked (the walk is depth first), with their bytes so far.
  const open: SizedPath[] = [];
  const close = (path: string | null) => {
    while (open.length > 0) {
      const top = open[open.length - 1] as SizedPath;
      if (path?.startsWith(`${top.path}/`)) return;
      open.pop();
      keepLargest(scan.largestFolders, top);
    }
  };
  for await (const batch of walkContext(plan.root, plan.ignore)) {
    for (const entry of batch) {
      const { stats } = entry;
      close(entry.path);
      if (stats.isFile()) {
        scan.files += 1;
        scan.bytes += stats.size;
        scan.tarBytes += tarEntryBytes(entry.path, stats.size);
        for (const folder of open) folder.bytes += stats.size;
        keepLargest(scan.largestFiles, { path: entry.path, bytes: stats.size });
      } else if (stats.isDirectory()) {
        scan.tarBytes += tarEntryBytes(entry.path, 0);
        open.push({ path: entry.path, bytes: 0 });
      } else if (stats.isSymbolicLink()) {
        scan.tarBytes += tarEntryBytes(entry.path, 0, entry.linkname);
      } else {
        skippedCount += 1;
        if (scan.skipped.length < SKIPPED_LISTED) {
          scan.skipped.push({
            path: entry.path,
            reason: stats.isFIFO() ? 'FIFO' : stats.isSocket() ? 'socket' : 'device or special file',
          });
        }
      }
    }
  }
  close(null);
  if (skippedCount > SKIPPED_LISTED) {
    scan.skipped.push({ path: '…', reason: `${skippedCount - SKIPPED_LISTED} more skipped entries` });
  }
  for (const entry of plan.appended) {
    scan.files += 1;
    scan.bytes += entry.content.length;
    scan.tarBytes += tarEntryBytes(entry.name, entry.content.length);
  }
  return scan;
}
