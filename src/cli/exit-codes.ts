import type { ErrorCode } from '../shared/errors';

export const EXIT_OK = 0;
export const EXIT_BUILD_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

/** Errors that mean the command could not start as given: exit 2, not 1. */
const BAD_INPUT: ReadonlySet<ErrorCode> = new Set([
  'E_BAD_INPUT',
  'E_PROJECT_NOT_FOUND',
  'E_PROJECT_NOT_A_FOLDER',
  'E_NO_DOCKERFILE',
  'E_BUILDER_UNREACHABLE',
  'E_CONTEXT_UNREADABLE',
  'E_CONTEXT_NOT_FOUND',
  'E_CONTEXT_OUTSIDE_PROJECT',
  'E_COMPOSE_INVALID',
  'E_COMPOSE_VARIABLE',
  'E_TOKEN_MISSING',
  'E_TOKEN_INSECURE',
  'E_DATA_DIR_UNWRITABLE',
  'E_DATA_DIR_UNREADABLE',
  'E_DATA_DIR_READ_ONLY',
  'E_SETTINGS_INVALID',
  'E_REGISTRY_CONFIG_INVALID',
  'E_CREDENTIAL_HELPER',
]);

export function exitCodeFor(code: ErrorCode): number {
  return BAD_INPUT.has(code) ? EXIT_BAD_INPUT : EXIT_BUILD_FAILED;
}
