/** Stable error codes. They are part of the contract: the CLI prints them and the window shows them. */
export const errorCodes = {
  E_BAD_INPUT: 'The request or command line was not understood.',
  E_PROJECT_NOT_FOUND: 'The project folder does not exist.',
  E_PROJECT_NOT_A_FOLDER: 'The project path is not a folder.',
  E_NO_DOCKERFILE: 'No Dockerfile was found where the task expects one.',
  E_CONTEXT_UNREADABLE: 'A file of the build context could not be read.',
  E_CONTEXT_CHANGED: 'A file of the build context changed while it was being packed.',
  E_CONTEXT_NOT_FOUND: 'A build context named by the project does not exist.',
  E_CONTEXT_OUTSIDE_PROJECT: 'A build context lies outside the project folder.',
  E_COMPOSE_INVALID: 'The compose file is malformed or describes a build Slipway cannot run.',
  E_COMPOSE_VARIABLE: 'A variable the compose file requires (with :? or ?) is not set.',
  E_BUILDER_UNREACHABLE: 'The builder endpoint could not be reached.',
  E_BUILDER_REJECTED: 'The builder refused the request.',
  E_BUILDER_UNAUTHORIZED: 'The builder refused the credentials (HTTP 401 or 403).',
  E_BUILDER_TIMEOUT: 'The builder sent no complete message for longer than the silence timeout.',
  E_BUILDER_PROTOCOL: 'The builder answered with something that is not its protocol.',
  E_REGISTRY_UNAUTHORIZED: 'A registry the build pulls from refused it: no credentials, or wrong ones.',
  E_REGISTRY_CONFIG_INVALID: "The docker CLI's config.json (registry credentials) cannot be read or is malformed.",
  E_CREDENTIAL_HELPER: 'A docker credential helper (docker-credential-<name>) is missing or failed.',
  E_UPLOAD_RESET: 'The connection to the builder was reset during the upload.',
  E_BUILD_FAILED: 'The build itself failed.',
  E_CANCELLED: 'The build was cancelled.',
  E_SPOOL_WRITE: 'The build log could not be written to disk.',
  E_SPOOL_DISK_FULL: 'The disk holding the build logs is full.',
  E_DATA_DIR_UNWRITABLE: 'The data directory cannot be written: permission denied.',
  E_DATA_DIR_UNREADABLE: 'The data directory cannot be read: permission denied.',
  E_DATA_DIR_READ_ONLY: 'The data directory is on a read-only file system.',
  E_SETTINGS_INVALID: 'settings.json holds a value Slipway cannot use; nothing was built or deleted because of it.',
  E_RECORD_DAMAGED:
    'A file Slipway keeps about a build (build.json, owner.json, a log index or steps file) is damaged.',
  E_SEARCH_LIMIT: 'A log search went past its time or memory limit, or too many were waiting.',
  E_INTERRUPTED: 'The process running the build stopped before the build ended.',
  E_TOKEN_MISSING: 'No API token was given for the builder.',
  E_TOKEN_INSECURE: 'The token file can be read or changed by others than its owner.',
  E_TOKEN_STORE_UNAVAILABLE: 'This system offers no encryption to keep the API token with.',
  E_BUSY: 'Slipway already serves as many of these at once as it allows.',
  E_INTERNAL: 'Something went wrong inside Slipway.',
} as const;

export type ErrorCode = keyof typeof errorCodes;

/** The plain-data form of an error, as it crosses process boundaries and lands in build.json. */
export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  hint?: string;
}

/** The one error type of Slipway: a stable code, a message a person understands, and a hint. */
export class SlipwayError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'SlipwayError';
    this.code = code;
    this.hint = options.hint;
  }

  toInfo(): ErrorInfo {
    return this.hint === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, hint: this.hint };
  }
}

/** Turns anything thrown into an ErrorInfo, keeping a SlipwayError's code. */
export function toErrorInfo(error: unknown): ErrorInfo {
  if (error instanceof SlipwayError) return error.toInfo();
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'E_INTERNAL', message };
}
