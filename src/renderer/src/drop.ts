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

export function pathsFromUriList(list: string): string[] {
  const paths: string[] = [];
  for (const line of list.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    try {
      const url = new URL(trimmed);
      if (url.protocol !== 'file:') continue;
      if (url.hostname && url.hostname !== 'localhost') continue;
      const path = decodeURIComponent(url.pathname);
      paths.push(path.length > 1 ? path.replace(/\/+$/, '') : path);
    } catch {
      // Not a URI: nothing to open.
    }
  }
  return paths;
}
