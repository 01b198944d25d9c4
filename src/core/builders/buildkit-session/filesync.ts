import { lstatSync, readlinkSync, type Stats } from 'node:fs';
import { SlipwayError } from '../../../shared/errors';
import { decodeName, fsPath } from '../../pack/names';
import { openContextFile } from '../../pack/pack';
import { readSmallFile } from '../../pack/read-ahead';
import { EntryKind, type ScanSpool, SpoolReader } from '../../pack/scan-spool';
import { changed, childPath, unreadable, walkContext } from '../../pack/walk';
import { type IgnoreRule, ignoreRuleFromText } from '../../project/ignore';
import { cleanPath, IgnorePatterns } from '../../project/ignore-patterns';
import { type GrpcCall, GrpcError, GrpcStatus, type Metadata } from './grpc';
import { decodePacket, encodeDataPacketHead, encodePacket, encodeStatPacket, goFileMode, PacketType } from './messages';

// moby.filesync.v1.FileSync/DiffCopy, the sending side of tonistiigi/fsutil's protocol: a STAT packet
// per entry in the order fsutil's walker and validator require (depth first, the names of a folder in
// byte order, every folder before what it holds), an empty STAT to end the walk; then, for each REQ
// (by the entry's index in that walk), the file's bytes as DATA packets and an empty DATA; FIN
// answered with FIN. The receiver compares the walk with what it kept from the last build, and asks
// only for the files that changed.

/** One entry as a DiffCopy sends it: a path relative to the folder, '/'-separated, and its lstat. */
export interface SyncEntry {
  path: string;
  /** The unix st_mode. */
  mode: number;
  size: number;
  mtimeMs: number;
  linkname?: string;
}

/** A folder the session offers BuildKit by name (`context`, `dockerfile`, an additional context). */
export interface SyncedDir {
  name: string;
  /** Absolute path of the folder. */
  root: string;
  /**
   * The task's own scan of this folder, spooled (see scan-spool.ts): it serves a request whose
   * exclude patterns are `patterns` exactly, without walking the folder again. `result` rejects with
   * the scan's own error (a file unreadable, say).
   */
  scan?: { patterns: string[]; spool: ScanSpool; result: Promise<unknown> };
  /** Files served from memory instead of the folder (an inline Dockerfile), by name. */
  files?: Map<string, Buffer>;
}

/** What a DiffCopy asks for, from its metadata (fsutil's FilterOpt). */
export interface SyncRequest {
  dirName: string;
  includes: string[];
  excludes: string[];
  followPaths: string[];
}

/** What a DiffCopy reports as it goes: bytes framed onto the wire, and the failure it ends with. */
export interface SyncHooks {
  onBytes(bytes: number): void;
}

/** The request a DiffCopy's metadata makes (BuildKit escapes non-ASCII values and says so in `<key>-encoded`). */
export function syncRequestOf(metadata: Metadata): SyncRequest {
  const values = (key: string) => {
    const raw = metadata.get(key) ?? [];
    const encoded = ['1', 't', 'true'].includes((metadata.get(`${key}-encoded`)?.[0] ?? '').toLowerCase());
    return encoded ? raw.map((value) => decodeURIComponent(value.replace(/\+/g, ' '))) : raw;
  };
  return {
    dirName: values('dir-name')[0] ?? '',
    includes: values('include-patterns'),
    excludes: values('exclude-patterns'),
    followPaths: values('followpaths'),
  };
}

/** Bytes of file content per DATA packet. */
const DATA_CHUNK_BYTES = 64 * 1024;

const KIND_MODE: Record<number, number> = {
  [EntryKind.file]: 0o100000,
  [EntryKind.directory]: 0o040000,
  [EntryKind.symlink]: 0o120000,
  [EntryKind.fifo]: 0o010000,
};

/** fsutil's ComparePath: byte order, with '/' before every other byte, so a folder's contents come before its next sibling. */
export function comparePaths(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    const x = a.charCodeAt(index);
    const y = b.charCodeAt(index);
    if (x === y) continue;
    if (x === 0x2f) return -1;
    if (y === 0x2f) return 1;
    return x - y;
  }
  return a.length - b.length;
}

function entryOf(path: string, stats: Stats, linkname?: string): SyncEntry {
  return { path, mode: stats.mode, size: stats.isFile() ? stats.size : 0, mtimeMs: stats.mtimeMs, linkname };
}

/** Whether an entry is one fsutil sends (it leaves sockets and devices to the receiver's filter; Slipway leaves them out, as its tar does). */
function sendable(mode: number): boolean {
  const type = mode & 0o170000;
  return type === 0o100000 || type === 0o040000 || type === 0o120000 || type === 0o010000;
}

/** lstat of a path of the folder, as an entry, or null when it does not exist. */
function lookUp(root: string, path: string): SyncEntry | null {
  const absolute = `${root}/${path}`;
  let stats: Stats;
  try {
    stats = lstatSync(fsPath(absolute));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw unreadable(absolute, error);
  }
  if (!stats.isSymbolicLink()) return entryOf(path, stats);
  try {
    return entryOf(path, stats, decodeName(readlinkSync(fsPath(absolute), { encoding: 'buffer' })));
  } catch (error) {
    throw unreadable(absolute, error);
  }
}

/** The entries of the task's scan, read back from its spool as the scan writes it. */
async function* spooledEntries(spool: ScanSpool, result: Promise<unknown>): AsyncGenerator<SyncEntry[]> {
  const reader = new SpoolReader(spool);
  try {
    for (;;) {
      const batch: SyncEntry[] = [];
      let next: ReturnType<SpoolReader['next']> = null;
      try {
        while (batch.length < 1024) {
          next = reader.next();
          if (next === null || next === 'wait') break;
          batch.push({
            path: next.path,
            mode: (next.mode & 0o7777) | (KIND_MODE[next.kind] as number),
            size: next.size,
            mtimeMs: next.mtimeMs,
            linkname: next.linkname,
          });
        }
      } catch (error) {
        // The scan broke off: its own error (the file it could not read) says why.
        await result;
        throw error;
      }
      if (batch.length > 0) yield batch;
      if (next === null) return;
      if (next === 'wait') await reader.changed();
    }
  } finally {
    reader.close();
  }
}

/** The text of a pattern before its first wildcard. */
function literalPrefix(pattern: string): string {
  const wildcard = pattern.search(/[*?[\\]/);
  return wildcard === -1 ? pattern : pattern.slice(0, wildcard);
}

/**
 * The rule a walk answers a request with: the request's exclude patterns as the docker CLI applies
 * them, and, when it names paths (include patterns, followpaths), only what they or their parents
 * match; a folder that may hold such a path is walked through, not sent (withParents sends it when
 * something inside is). Folders that cannot hold one are not even listed.
 */
function requestRule(request: SyncRequest, includes: string[]): IgnoreRule {
  const excludes = ignoreRuleFromText(request.excludes.join('\n'), null);
  if (includes.length === 0) return excludes;
  const included = new IgnorePatterns(includes, 'include-patterns');
  const prefixes = includes.map((pattern) => ({
    literal: literalPrefix(pattern) === pattern,
    prefix: literalPrefix(pattern),
  }));
  const mayHold = (folder: string) =>
    prefixes.some(({ literal, prefix }) =>
      literal
        ? prefix.startsWith(`${folder}/`)
        : prefix.startsWith(`${folder}/`) || folder.startsWith(prefix) || prefix.startsWith(folder),
    );
  return {
    lines: excludes.lines,
    source: excludes.source,
    verdict(path, isFolder) {
      const verdict = excludes.verdict(path, isFolder);
      if (verdict === 'skip' || included.matches(path)) return verdict;
      return isFolder && mayHold(path) ? 'walk' : 'skip';
    },
  };
}

/** A walk of the folder by the packer's own walker (the same order, and the same errors), with the request's rule. */
async function* walkedEntries(root: string, rule: IgnoreRule): AsyncGenerator<SyncEntry[]> {
  for await (const batch of walkContext(root, rule)) {
    yield batch
      .filter((entry) => sendable(entry.stats.mode))
      .map((entry) => entryOf(entry.path, entry.stats, entry.linkname));
  }
}

/**
 * The paths followpaths name, with the targets of those that are links (inside the folder), as
 * fsutil's FollowLinks adds them: the request then includes them as include patterns.
 */
function followedPaths(root: string, paths: string[]): string[] {
  const found = new Set<string>();
  for (const raw of paths) {
    let path = cleanPath(raw.replace(/^\/+/, ''));
    for (let hops = 0; hops < 40 && path !== '.' && !path.startsWith('../') && !found.has(path); hops++) {
      found.add(path);
      const entry = lookUp(root, path);
      if (entry?.linkname === undefined) break;
      const folder = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
      path = cleanPath(entry.linkname.startsWith('/') ? entry.linkname.slice(1) : childPath(folder, entry.linkname));
    }
  }
  return [...found];
}

/** Files served from memory (an inline Dockerfile), those the request includes. */
function virtualEntries(files: Map<string, Buffer>, includes: string[]): SyncEntry[] {
  const included = includes.length > 0 ? new IgnorePatterns(includes, 'include-patterns') : null;
  const now = Date.now();
  return [...files]
    .filter(([path]) => !included || included.matches(path))
    .map(([path, content]) => ({ path, mode: 0o100644, size: content.length, mtimeMs: now }))
    .sort((a, b) => comparePaths(a.path, b.path));
}

/**
 * Adds the folders fsutil's receiver needs before what they hold and that the walk did not send (a
 * folder left out but walked through for a "!" exception, the parents of a followed path).
 */
async function* withParents(root: string, source: AsyncIterable<SyncEntry[]>): AsyncGenerator<SyncEntry[]> {
  const open: string[] = [];
  for await (const batch of source) {
    const out: SyncEntry[] = [];
    for (const entry of batch) {
      const slash = entry.path.lastIndexOf('/');
      const parent = slash === -1 ? '' : entry.path.slice(0, slash);
      while (open.length > 0 && !(parent === open[open.length - 1] || parent.startsWith(`${open[open.length - 1]}/`))) {
        open.pop();
      }
      if (parent !== '' && parent !== open[open.length - 1]) {
        const missing: string[] = [];
        for (let folder = parent; folder !== '' && folder !== open[open.length - 1]; ) {
          missing.unshift(folder);
          const up = folder.lastIndexOf('/');
          folder = up === -1 ? '' : folder.slice(0, up);
        }
        for (const folder of missing) {
          const found = lookUp(root, folder);
          if (!found) throw changed(`${root}/${folder}`, 'vanished');
          out.push(found);
          open.push(folder);
        }
      }
      out.push(entry);
      if ((entry.mode & 0o170000) === 0o040000) open.push(entry.path);
    }
    yield out;
  }
}

/** The entries that answer a request, in fsutil's order. */
function entriesFor(dir: SyncedDir, request: SyncRequest): AsyncGenerator<SyncEntry[]> {
  const includes = [...request.includes, ...followedPaths(dir.root, request.followPaths)];
  if (dir.files) {
    const entries = virtualEntries(dir.files, includes);
    return (async function* () {
      yield entries;
    })();
  }
  const { scan } = dir;
  const sameAsScan =
    scan !== undefined &&
    includes.length === 0 &&
    request.excludes.length === scan.patterns.length &&
    request.excludes.every((pattern, index) => pattern === scan.patterns[index]);
  const source = sameAsScan
    ? spooledEntries(scan.spool, scan.result)
    : walkedEntries(dir.root, requestRule(request, includes));
  return withParents(dir.root, source);
}

/**
 * Serves one DiffCopy call from a synced folder. Resolves once the receiver said FIN and got its FIN;
 * rejects with what broke the transfer (a file that changed, the stream gone), after telling the
 * receiver with an ERR packet where the stream still stands.
 */
export async function serveDiffCopy(call: GrpcCall, dir: SyncedDir, request: SyncRequest, hooks: SyncHooks) {
  // The files the receiver may still ask for, by id: a path and a size in two arrays, which cost a
  // fraction of a Map of objects on a context of 100,000 files that a rebuild asks none of.
  const paths: (string | undefined)[] = [];
  const sizes: number[] = [];
  let walkDone = false;
  let failed: unknown = null;
  const send = async (...parts: Uint8Array[]) => {
    if (failed) throw failed;
    hooks.onBytes(await call.send(...parts));
  };

  const walk = async () => {
    let id = 0;
    for await (const batch of entriesFor(dir, request)) {
      for (const entry of batch) {
        const isFile = (entry.mode & 0o170000) === 0o100000;
        if (isFile) {
          paths[id] = entry.path;
          sizes[id] = entry.size;
        }
        id += 1;
        await send(
          encodeStatPacket({
            path: entry.path,
            mode: goFileMode(entry.mode),
            uid: 0,
            gid: 0,
            size: entry.size,
            modTimeNs: BigInt(Math.round(entry.mtimeMs * 1e6)),
            linkname: entry.linkname ?? '',
          }),
        );
      }
    }
    await send(encodeStatPacket(null));
    walkDone = true;
  };

  const sendFile = async (id: number) => {
    const path = paths[id];
    if (path === undefined) throw new GrpcError(GrpcStatus.invalidArgument, `invalid file id ${id}`);
    paths[id] = undefined;
    const file = { path, size: sizes[id] as number };
    const virtual = dir.files?.get(file.path);
    if (virtual) {
      if (virtual.length > 0) await send(encodeDataPacketHead(id, virtual.length), virtual);
    } else {
      await sendFromDisk(id, `${dir.root}/${file.path}`, file.size, send);
    }
    await send(encodeDataPacketHead(id, 0));
  };

  let fail: (error: unknown) => void = () => undefined;
  const failure = new Promise<never>((_resolve, reject) => {
    fail = (error) => {
      failed ??= error;
      reject(failed);
    };
  });
  failure.catch(() => undefined);

  // REQs are answered one file at a time, in the order they came: the wire is the bottleneck, and
  // one file in flight holds one chunk in memory. The ids waiting are numbers in an array: a first
  // build of 100,000 files asks for all of them long before the first few are sent.
  const queue: number[] = [];
  let queueAt = 0;
  let sending: Promise<void> | null = null;
  const drainQueue = async () => {
    while (queueAt < queue.length) {
      await sendFile(queue[queueAt++] as number);
      if (queueAt > 4096 && queueAt * 2 > queue.length) {
        queue.splice(0, queueAt);
        queueAt = 0;
      }
    }
    sending = null;
  };
  const receive = async () => {
    for await (const message of call.messages()) {
      const packet = decodePacket(message);
      if (packet.type === PacketType.req) {
        queue.push(packet.id);
        if (!sending) {
          sending = drainQueue();
          sending.catch(fail);
        }
      } else if (packet.type === PacketType.fin) {
        await sending;
        if (!walkDone) throw new GrpcError(GrpcStatus.internal, 'FIN came before the walk ended');
        await send(encodePacket(PacketType.fin));
        return;
      } else if (packet.type === PacketType.err) {
        throw new SlipwayError(
          'E_BUILDER_PROTOCOL',
          `BuildKit broke off the transfer of ${dir.root}: ${Buffer.from(packet.data).toString()}`,
        );
      }
    }
    throw new GrpcError(GrpcStatus.cancelled, 'the receiver closed the transfer before FIN');
  };

  walk().catch(fail);
  try {
    // The walk and the files asked for run beside the receiving loop; the first failure ends the call.
    await Promise.race([receive(), failure]);
    call.end();
  } catch (error) {
    failed ??= error;
    const reason = failed instanceof Error ? failed.message : String(failed);
    try {
      // The receiver shows the sender's error in the build's output; the call's status ends it.
      if (!call.stream.destroyed && !(failed instanceof GrpcError)) {
        await call.send(encodePacket(PacketType.err, Buffer.from(reason))).catch(() => undefined);
      }
    } finally {
      call.end(failed instanceof GrpcError ? failed.status : GrpcStatus.unknown, reason);
    }
    throw failed;
  }
}

/** Sends a file of the folder as DATA packets; a file that changed since its STAT is an error naming it. */
async function sendFromDisk(
  id: number,
  path: string,
  size: number,
  send: (...parts: Uint8Array[]) => Promise<void>,
): Promise<void> {
  if (size < DATA_CHUNK_BYTES) {
    // As the tar's read-ahead reads small files: synchronously (a few microseconds on a warm cache,
    // where a thread pool round trip per call costs many times that), one byte more than the STAT said.
    const buffer = Buffer.allocUnsafe(size + 1);
    readSmallFile(path, buffer, 0, size);
    if (size > 0) await send(encodeDataPacketHead(id, size), buffer.subarray(0, size));
    return;
  }
  const handle = await openContextFile(path);
  try {
    let position = 0;
    for (;;) {
      // One byte more than is left: a file that grew says so in the read that would end it.
      const want = Math.min(DATA_CHUNK_BYTES, size - position + 1);
      const last = want > size - position;
      const buffer = Buffer.allocUnsafe(want);
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buffer, 0, want, position));
      } catch (error) {
        throw unreadable(path, error);
      }
      if (position + bytesRead > size) throw changed(path, `grew past the ${size} bytes the scan saw`);
      if (bytesRead === 0) {
        if (position < size) throw changed(path, `shrank from ${size} to ${position} bytes`);
        return;
      }
      position += bytesRead;
      await send(encodeDataPacketHead(id, bytesRead), buffer.subarray(0, bytesRead));
      if (last && position === size) return;
    }
  } finally {
    await handle.close();
  }
}
