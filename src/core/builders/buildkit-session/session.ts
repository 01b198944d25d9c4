import { randomBytes } from 'node:crypto';
import { performServerHandshake, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import { SlipwayError } from '../../../shared/errors';
import type { Connection } from '../endpoint';
import { transportError } from '../http-errors';
import type { Dispatcher } from '../undici';
import { type AuthSource, noRegistryAuth, serveCredentials } from './auth';
import { type SyncedDir, serveDiffCopy, syncRequestOf } from './filesync';
import { GrpcCall, GrpcError, GrpcStatus, metadataOf } from './grpc';
import { encodeHealthServing } from './messages';
import { type SecretSource, serveSecret } from './secrets';
import { type AgentSource, checkAgent, forwardAgent } from './ssh';

// BuildKit's session as the docker CLI opens it on a Docker Engine: POST /session asks the engine to
// switch the connection to h2c, naming the session and the gRPC methods the client serves; from then
// on the client is the HTTP/2 *server* of that socket, and BuildKit calls it while it builds: for
// the context's files (FileSync), registry credentials (Auth), secrets and the SSH agent.

/** What one session offers BuildKit. */
export interface SessionOptions {
  connection: Connection;
  /** The session's name as the docker CLI gives it: the context folder's base name. */
  name: string;
  /** The key BuildKit keys its cache of the transferred folders by: the same folder gets the same key. */
  sharedKey: string;
  dirs: SyncedDir[];
  secrets?: SecretSource[];
  agents?: AgentSource[];
  auth?: AuthSource;
  signal: AbortSignal;
  /** Called with the bytes each DiffCopy frames onto the wire (the context's transfer). */
  onContextBytes?: (bytes: number) => void;
}

/** The session refused by the engine (it does not switch protocols): the build goes as a tar body instead. */
export class SessionRefused extends Error {}

const FILESYNC = '/moby.filesync.v1.FileSync/DiffCopy';
const HEALTH = '/grpc.health.v1.Health/Check';
const SECRET = '/moby.buildkit.secrets.v1.Secrets/GetSecret';
const CHECK_AGENT = '/moby.sshforward.v1.SSH/CheckAgent';
const FORWARD_AGENT = '/moby.sshforward.v1.SSH/ForwardAgent';
const CREDENTIALS = '/moby.filesync.v1.Auth/Credentials';
// The docker CLI has no token authority to offer: BuildKit then asks for credentials.
const FETCH_TOKEN = '/moby.filesync.v1.Auth/FetchToken';
const TOKEN_AUTHORITY = '/moby.filesync.v1.Auth/GetTokenAuthority';
const VERIFY_TOKEN_AUTHORITY = '/moby.filesync.v1.Auth/VerifyTokenAuthority';

/** An open session; close() ends every call and the socket. */
export class BuildKitSession {
  /** What broke the transfer of the context (a file that changed, say), once something did. */
  failure: unknown = null;
  /** Bytes framed onto the wire by DiffCopy calls. */
  contextBytes = 0;
  private readonly calls = new Set<ServerHttp2Stream>();
  private closed = false;

  constructor(
    readonly id: string,
    private readonly h2: ServerHttp2Session,
    private readonly socket: Duplex,
    private readonly options: SessionOptions,
  ) {
    h2.on('stream', (stream: ServerHttp2Stream, _headers: unknown, _flags: number, rawHeaders: string[]) =>
      this.serve(stream, rawHeaders),
    );
    h2.on('error', (error: unknown) => this.broken(error));
    socket.on('error', (error: unknown) => this.broken(error));
    socket.on('close', () => this.broken(Object.assign(new Error('socket closed'), { code: 'ECONNRESET' })));
  }

  /** Ends the session: every call's stream, the HTTP/2 session and the socket. Harmless twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const stream of this.calls) stream.destroy();
    this.calls.clear();
    this.h2.destroy();
    this.socket.destroy();
  }

  /** The session's connection broke under it (not closed by Slipway): the context's transfer was cut. */
  private broken(error: unknown): void {
    if (!this.closed) this.failure ??= transportError(this.options.connection, error, 'upload');
    this.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private serve(stream: ServerHttp2Stream, rawHeaders: string[]): void {
    this.calls.add(stream);
    stream.once('close', () => this.calls.delete(stream));
    // A stream reset by the engine (a cancelled call) is the call's end, not the session's.
    stream.on('error', () => undefined);
    const metadata = metadataOf(rawHeaders);
    const method = rawHeaders[rawHeaders.indexOf(':path') + 1] ?? '';
    const call = new GrpcCall(stream, metadata);
    this.answer(method, call).catch((error: unknown) => {
      if (method === FILESYNC && !(error instanceof GrpcError)) this.failure ??= error;
      if (error instanceof GrpcError) call.end(error.status, error.message);
      else call.end(GrpcStatus.unknown, error instanceof Error ? error.message : String(error));
    });
  }

  private async answer(method: string, call: GrpcCall): Promise<void> {
    const { options } = this;
    switch (method) {
      case HEALTH:
        await call.single();
        await call.send(encodeHealthServing());
        call.end();
        return;
      case FILESYNC: {
        const request = syncRequestOf(call.metadata);
        const dir = options.dirs.find((candidate) => candidate.name === request.dirName);
        if (!dir) throw new GrpcError(GrpcStatus.notFound, `no access allowed to dir "${request.dirName}"`);
        await serveDiffCopy(call, dir, request, {
          onBytes: (bytes) => {
            this.contextBytes += bytes;
            options.onContextBytes?.(this.contextBytes);
          },
        });
        return;
      }
      case SECRET:
        await serveSecret(call, options.secrets ?? []);
        return;
      case CHECK_AGENT:
        await checkAgent(call, options.agents ?? []);
        return;
      case FORWARD_AGENT:
        await forwardAgent(call, options.agents ?? []);
        return;
      case CREDENTIALS:
        await serveCredentials(call, options.auth ?? noRegistryAuth);
        return;
      default:
        throw new GrpcError(GrpcStatus.unimplemented, `unknown method ${method}`);
    }
  }
}

/** A session id as BuildKit makes them: 25 characters of base 36. */
function sessionId(): string {
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';
  return [...randomBytes(25)].map((byte) => alphabet[byte % 36]).join('');
}

/** The gRPC methods a session with these options serves, as its headers announce them. */
function methodsOf(options: SessionOptions): string[] {
  const methods = [HEALTH, FILESYNC, CREDENTIALS];
  if (options.secrets?.length) methods.push(SECRET);
  if (options.agents?.length) methods.push(CHECK_AGENT, FORWARD_AGENT);
  return methods;
}

/** Methods the session announces but answers "unimplemented", as the docker CLI without a token authority does. */
export const UNIMPLEMENTED_METHODS = [FETCH_TOKEN, TOKEN_AUTHORITY, VERIFY_TOKEN_AUTHORITY];

/**
 * Opens a session on the engine: POST /session, switched to h2c, then served. Rejects with
 * SessionRefused when the engine answers without switching (no session support), and with the
 * transport's error when it cannot be reached.
 */
export async function openSession(options: SessionOptions): Promise<BuildKitSession> {
  const { connection } = options;
  const id = sessionId();
  let socket: Duplex;
  try {
    // An Agent routes by origin, which undici's upgrade options do not declare.
    const upgrade: Dispatcher.UpgradeOptions & { origin: string } = {
      origin: connection.origin,
      path: '/session',
      method: 'POST',
      protocol: 'h2c',
      signal: options.signal,
      headers: {
        'x-docker-expose-session-uuid': id,
        'x-docker-expose-session-name': options.name,
        'x-docker-expose-session-sharedkey': options.sharedKey,
        'x-docker-expose-session-grpc-method': methodsOf(options),
      },
    };
    ({ socket } = await connection.dispatcher.upgrade(upgrade));
  } catch (error) {
    if ((error as { message?: string }).message === 'bad upgrade') {
      throw new SessionRefused(`The engine at ${connection.label} does not open BuildKit sessions (POST /session)`);
    }
    throw transportError(connection, error, 'connect');
  }
  if (options.signal.aborted) {
    socket.destroy();
    throw options.signal.reason ?? new SlipwayError('E_CANCELLED', 'The build was cancelled.');
  }
  const h2 = performServerHandshake(socket);
  const session = new BuildKitSession(id, h2, socket, options);
  const onAbort = () => session.close();
  options.signal.addEventListener('abort', onAbort, { once: true });
  socket.once('close', () => options.signal.removeEventListener('abort', onAbort));
  return session;
}
