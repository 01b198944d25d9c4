import type { ContextScan } from '../../shared/domain';
import type { IgnoreRule } from '../project/ignore';
import { TAR_END_BYTES, tarEntryBytes } from './tar-size';
import { walkContext } from './walk';

/** Walks a context once to count files and bytes and to compute the exact size of its tar stream. */
export async function scanContext(root: string, ignore: IgnoreRule): Promise<ContextScan> {
  const scan: ContextScan = { files: 0, bytes: 0, tarBytes: TAR_END_BYTES, skipped: [] };
  for await (const entry of walkContext(root, ignore)) {
    const { stats } = entry;
    if (stats.isFile()) {
      scan.files += 1;
      scan.bytes += stats.size;
      scan.tarBytes += tarEntryBytes(entry.path, stats.size);
    } else if (stats.isDirectory()) {
      scan.tarBytes += tarEntryBytes(entry.path, 0);
    } else if (stats.isSymbolicLink()) {
      scan.tarBytes += tarEntryBytes(entry.path, 0, entry.linkname);
    } else {
      scan.skipped.push({
        path: entry.path,
        reason: stats.isFIFO() ? 'FIFO' : stats.isSocket() ? 'socket' : 'special file',
      });
    }
  }
  return scan;
}
