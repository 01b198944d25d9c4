import type { Readable } from 'node:stream';
import { SlipwayError } from '../../../shared/errors';
import { startUpload, type Upload } from '../../builds/upload';
import { startDockerBuild } from '../docker/request';
import type { SendRequest } from '../driver';
import type { Connection } from '../endpoint';
import type { AuthSource } from './auth';
import type { SessionPlan } from './context';
import { type BuildKitSession, openSession, SessionRefused } from './session';

/** One attempt's session, or the tar body it fell back to, and what its log should say about it. */
export interface SessionAttempt {
  session: BuildKitSession | null;
  /** The tar body sent instead, where the engine refused the session. */
  upload: Upload | null;
  notes: string[];
  /** Ends the session (or the fallback's upload): every stream and the socket. */
  close(): Promise<void>;
}

/** The engine's own build id of a build through a session, as the docker CLI makes one. */
function buildId(): string {
  return `slipway-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * Starts a BuildKit build whose context BuildKit fetches through a session: opens the session, then
 * POST /build naming it (`session`, `remote=client-session`, the Dockerfile's name in the session's
 * `dockerfile` folder), with no body, as the docker CLI does. Where the engine refuses the session,
 * packs the context as a tar body instead (`fallback`) and says so.
 */
export async function startSessionBuild(
  connection: Connection,
  query: URLSearchParams,
  request: SendRequest,
  plan: SessionPlan,
  options: {
    auth?: AuthSource;
    fallback: () => Promise<Readable | null>;
    /** Why this attempt sends the tar body without trying the session (a failover to another engine). */
    withoutSession?: string;
    /** X-Registry-Config for an engine that reads it (the classic builder, Podman). */
    registryConfig?: string | null;
  },
): Promise<{ response: Readable; attempt: SessionAttempt }> {
  const onBytes = (bytes: number) => request.onContextBytes?.(bytes);
  const attempt: SessionAttempt = {
    session: null,
    upload: null,
    notes: [],
    close: async () => {
      attempt.session?.close();
      await attempt.upload?.settled;
    },
  };
  if (options.withoutSession) {
    attempt.notes.push(`Slipway: ${options.withoutSession}: the context goes as a tar body instead, whole`);
  } else {
    try {
      attempt.session = await openSession({
        connection,
        name: plan.name,
        sharedKey: plan.sharedKey,
        dirs: plan.dirs,
        secrets: plan.secrets,
        agents: plan.agents,
        auth: options.auth,
        signal: request.signal,
        onContextBytes: onBytes,
      });
    } catch (error) {
      if (!(error instanceof SessionRefused)) throw error;
      attempt.notes.push(`Slipway: ${error.message}: the context goes as a tar body instead, whole`);
    }
  }
  const session = attempt.session;
  let body: Readable | null = null;
  if (session) {
    query.set('session', session.id);
    query.set('remote', 'client-session');
    query.set('dockerfile', plan.dockerfile);
    query.set('buildid', buildId());
  } else {
    const upload = startUpload({
      source: await options.fallback(),
      tarBytes: request.context.tarBytes,
      root: request.context.root,
      gzip: request.gzip,
      signal: request.signal,
      onBytes: (tarBytes, wireBytes) => onBytes(wireBytes ?? tarBytes),
    });
    attempt.upload = upload;
    body = upload.body;
  }
  try {
    const response = await startDockerBuild(connection, query, {
      body,
      contentBytes: null,
      gzip: session ? false : request.gzip,
      signal: request.signal,
      registryConfig: session ? null : options.registryConfig,
    });
    return { response, attempt };
  } catch (error) {
    await attempt.close();
    const packError = await attempt.upload?.settled;
    throw packError instanceof SlipwayError && packError.code.startsWith('E_CONTEXT') ? packError : error;
  }
}
