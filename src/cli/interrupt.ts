import type { Output } from './output';

/**
 * Ctrl-C (or SIGTERM) cancels the running build; a second one quits at once. Returns the function that
 * stops listening, for the command's finally block.
 */
export function cancelOnInterrupt(session: { cancel(): void }, output: Output): () => void {
  let interrupts = 0;
  const onInterrupt = () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130);
    output.err('Cancelling (Ctrl-C again to quit at once)');
    session.cancel();
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
  return () => {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
  };
}
