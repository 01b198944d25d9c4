import { SlipwayError } from '../shared/errors';

/** The coded error of a promise that was rejected with nobody to handle it: a fault of Slipway itself. */
export function internalFault(reason: unknown): SlipwayError {
  if (reason instanceof SlipwayError) return reason;
  const message = reason instanceof Error ? reason.message : String(reason);
  return new SlipwayError('E_INTERNAL', `An error nothing handled: ${message}`, {
    hint: 'The running builds were recorded as failed; please report this with the build log.',
    cause: reason,
  });
}

/**
 * The process-level guard of a shell: a promise rejected with no handler is turned into a coded error
 * and given to `onFault` (which fails the running builds), instead of Node's default of killing the
 * process with a half-written build behind it. Returns the function that removes the guard.
 */
export function guardUnhandledRejections(onFault: (error: SlipwayError) => void): () => void {
  const listener = (reason: unknown) => onFault(internalFault(reason));
  process.on('unhandledRejection', listener);
  return () => {
    process.off('unhandledRejection', listener);
  };
}
