import { pathsFromUriList } from './uri-list';

/**
 * The folder paths a drop names. File managers put file:// URIs in text/uri-list (one per line, # for
 * comments); Electron's preload turns dropped File objects into paths with webUtils.getPathForFile.
 */
export function droppedPaths(data: DataTransfer, pathForFile?: (file: File) => string): string[] {
  if (pathForFile && data.files.length > 0) {
    return Array.from(data.files)
      .map((file) => pathForFile(file))
      .filter(Boolean);
  }
  return pathsFromUriList(data.getData('text/uri-list'));
}
