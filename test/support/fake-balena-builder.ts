import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

/**
 * A FAKE balena builder and API, for faults and formats the real balenaCloud builder cannot be made to
 * produce on demand here (no network reaches it). It answers POST /v3/build by replaying a script of
 * messages in the builder's recorded format (a streamed JSON array of {message, type, replace, isError,
 * resource, value}, or the headless object), and PATCH /v7/release(<id>) as the API does. It records
 * what it was sent: the query, the headers, and the file list of the gunzipped tar, read as it streams
 * in (never held), so a 1 GiB upload costs it no memory either.
 */

/** One step of a replayed response. */
export type FakeStep =
  | { message: Record<string, unknown> }
  /** Bytes sent as they are, to break the format on purpose. */
  | { raw: string }
  | { delayMs: number }
  /** Resets the connection (TCP RST) in the middle of the response. */
  | { reset: true }
  /** Keeps the response open, silent, until the client goes away. */
  | { hang: true }
  /** Ends the response cleanly without closing the array, as a builder that restarted would. */
  | { end: true };

export interface FakeBalenaScript {
  steps?: FakeStep[];
  /** Headless answer (the query said headless=true): one JSON object. */
  headless?: Record<string, unknown>;
  /** Answer this status with this body instead of a build. */
  reject?: { status: number; body: string };
  /** Status the API answers the cancel PATCH with (default 200). */
  patchStatus?: number;
  /** Resets the connection once this many gzip bytes of the upload have arrived. */
  resetUploadAfterBytes?: number;
  /** Replays the steps as soon as the request arrives, without waiting for the upload (which it drops). */
  answerBeforeUpload?: boolean;
}

export interface RecordedBuild {
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Names of the tar's entries, in order, as the builder would unpack them. */
  files: string[];
  /** Bytes of the tar after gunzip, and of the gzip on the wire. */
  tarBytes: number;
  compressedBytes: number;
  /** Contents of small files the tests look at (.balena/registry-secrets.json). */
  smallFiles: Record<string, string>;
  /** True when the upload broke off (the client went away). */
  aborted: boolean;
}

export interface RecordedPatch {
  path: string;
  /** The OData filter the API applies before patching. */
  filter: string | null;
  authorization: string | undefined;
  body: Record<string, unknown>;
}

export interface FakeBalenaBuilder {
  url: string;
  builds: RecordedBuild[];
  patches: RecordedPatch[];
  /** Resolves when a build request has arrived (its upload may still be going on). */
  buildArrived: Promise<void>;
  close(): Promise<void>;
}

const BLOCK = 512;

/** Reads tar headers as the bytes stream through; keeps names and small files, skips content. */
class TarLister extends Writable {
  files: string[] = [];
  bytes = 0;
  smallFiles: Record<string, string> = {};
  private header = Buffer.alloc(0);
  private skipBytes = 0;
  private collect: { name: string; size: number; chunks: Buffer[]; kind: 'pax' | 'file' } | null = null;
  private paxPath: string | null = null;
  private ended = false;

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.bytes += chunk.length;
    let at = 0;
    while (at < chunk.length && !this.ended) {
      if (this.skipBytes > 0) {
        const take = Math.min(this.skipBytes, chunk.length - at);
        if (this.collect) this.collect.chunks.push(Buffer.from(chunk.subarray(at, at + take)));
        this.skipBytes -= take;
        at += take;
        if (this.skipBytes === 0) this.finishEntry();
        continue;
      }
      const need = BLOCK - this.header.length;
      this.header = Buffer.concat([this.header, chunk.subarray(at, at + need)]);
      at += Math.min(need, chunk.length - at);
      if (this.header.length === BLOCK) this.onHeader();
    }
    callback();
  }

  private onHeader(): void {
    const block = this.header;
    this.header = Buffer.alloc(0);
    if (block.every((byte) => byte === 0)) return;
    const text = (start: number, end: number) => block.toString('utf8', start, end).replace(/\0.*$/s, '');
    const name = text(0, 100);
    const prefix = text(345, 500);
    const size = Number.parseInt(text(124, 136).trim() || '0', 8);
    const type = String.fromCharCode(block[156] ?? 48);
    const full = this.paxPath ?? (prefix ? `${prefix}/${name}` : name);
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') {
      this.collect = { name: full, size, chunks: [], kind: 'pax' };
    } else {
      this.paxPath = null;
      this.files.push(full);
      this.collect = size > 0 && size <= 4096 ? { name: full, size, chunks: [], kind: 'file' } : null;
    }
    this.skipBytes = padded;
    if (padded === 0) this.finishEntry();
  }

  private finishEntry(): void {
    const collected = this.collect;
    this.collect = null;
    if (!collected) return;
    const content = Buffer.concat(collected.chunks).subarray(0, collected.size).toString('utf8');
    if (collected.kind === 'file') {
      this.smallFiles[collected.name] = content;
      return;
    }
    const path = /\d+ path=([^\n]*)\n/.exec(content);
    if (path) this.paxPath = path[1] as string;
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes a message in two pieces, cut inside it, so the client sees messages split across chunks. */
async function writeSplit(response: ServerResponse, text: string): Promise<void> {
  const bytes = Buffer.from(text);
  const cut = Math.max(1, Math.floor(bytes.length / 2));
  response.write(bytes.subarray(0, cut));
  await pause(1);
  response.write(bytes.subarray(cut));
}

async function replay(request: IncomingMessage, response: ServerResponse, script: FakeBalenaScript): Promise<void> {
  response.writeHead(200, { 'content-type': 'application/json' });
  let first = true;
  await writeSplit(response, '[');
  for (const step of script.steps ?? []) {
    if (response.destroyed) return;
    if ('message' in step) {
      await writeSplit(response, `${first ? '' : ',\n'}${JSON.stringify(step.message)}`);
      first = false;
    } else if ('raw' in step) {
      response.write(step.raw);
    } else if ('delayMs' in step) {
      await pause(step.delayMs);
    } else if ('end' in step) {
      response.end();
      return;
    } else if ('reset' in step) {
      await pause(20);
      request.socket.resetAndDestroy();
      return;
    } else {
      await new Promise((resolve) => response.once('close', resolve));
      return;
    }
  }
  response.end(']\n');
}

/** Starts the FAKE builder with a script for every build request it gets. */
export async function startFakeBalenaBuilder(script: FakeBalenaScript): Promise<FakeBalenaBuilder> {
  const builds: RecordedBuild[] = [];
  const patches: RecordedPatch[] = [];
  let arrived: () => void = () => undefined;
  const buildArrived = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://fake');
    if (request.method === 'POST' && url.pathname === '/v3/build') {
      const lister = new TarLister();
      const build: RecordedBuild = {
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: request.headers,
        files: lister.files,
        tarBytes: 0,
        compressedBytes: 0,
        smallFiles: lister.smallFiles,
        aborted: false,
      };
      builds.push(build);
      arrived();
      if (script.answerBeforeUpload) {
        request.resume();
        request.on('error', () => undefined);
        void replay(request, response, script);
        return;
      }
      request.on('data', (chunk: Buffer) => {
        build.compressedBytes += chunk.length;
        if (script.resetUploadAfterBytes !== undefined && build.compressedBytes >= script.resetUploadAfterBytes) {
          build.aborted = true;
          request.socket.resetAndDestroy();
        }
      });
      const gzipped = request.headers['content-encoding'] === 'gzip';
      (gzipped ? pipeline(request, createGunzip(), lister) : pipeline(request, lister))
        .then(async () => {
          build.tarBytes = lister.bytes;
          if (script.reject) {
            response.writeHead(script.reject.status, { 'content-type': 'text/plain' }).end(script.reject.body);
          } else if (build.query.headless === 'true' && script.headless) {
            response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(script.headless));
          } else {
            await replay(request, response, script);
          }
        })
        .catch(() => {
          build.aborted = true;
          build.tarBytes = lister.bytes;
          response.destroy();
        });
      return;
    }
    if (request.method === 'PATCH' && /^\/v7\/release\(\d+\)$/.test(url.pathname)) {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (text: string) => {
        body += text;
      });
      request.on('end', () => {
        patches.push({
          path: url.pathname,
          filter: url.searchParams.get('$filter'),
          authorization: request.headers.authorization,
          body: JSON.parse(body) as Record<string, unknown>,
        });
        const status = script.patchStatus ?? 200;
        response.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'OK' : 'Forbidden');
      });
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    builds,
    patches,
    buildArrived,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
