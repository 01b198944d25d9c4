/** The local paths of the file:// URIs in a text/uri-list (one per line, # for comments). */
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
