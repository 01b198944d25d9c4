import { removeScanFoldersNow } from '../core/pack/scan-folders';
import { markStdoutGone, type Output } from './output';

/**
 * Ctrl-C and SIGTERM, from the first moment the CLI runs (main installs this before anything else):
 * the first one cancels what the running command registered with onInterrupt, and the command ends as
 * it would (a build records itself cancelled, exit 130). With nothing registered (a probe, an inspect),
 * or at a second one, the CLI quits at once: what beforeQuit registered runs first (a build records
 * itself cancelled), then the scans' temporary folders go, and the exit code is 130.
 */

/** How long quitting at once waits for what beforeQuit registered. */
const QUIT_WAIT_MS = 2000;

const cancels: (() => void)[] = [];
const lastWords = new Set<() => Promise<void>>();
let interrupts = 0;
let installed = false;

async function quitNow(): Promise<never> {
  const waited = new Promise((resolve) => setTimeout(resolve, QUIT_WAIT_MS).unref());
  await Promise.race([Promise.allSettled([...lastWords].map((words) => words())), waited]);
  removeScanFoldersNow();
  process.exit(130);
}

/** Installs the handlers; harmless when installed already. */
export function installInterruptHandler(output: Output): void {
  if (installed) return;
  installed = true;
  const onInterrupt = () => {
    interrupts += 1;
    if (interrupts > 2) process.exit(130);
    const cancel = cancels[cancels.length - 1];
    if (interrupts === 1 && cancel) {
      output.err('Cancelling (Ctrl-C again to quit at once)');
      cancel();
      return;
    }
    void quitNow();
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
  // A reader that went away (`slipway inspect . | head -4`) ends the command quietly, as it would end
  // a CLI killed by SIGPIPE: what is left to print is dropped, and a command that streams is cancelled.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') {
      process.stderr.write(`error E_INTERNAL: cannot write the output: ${error.code ?? error.message}\n`);
      process.exit(1);
    }
    markStdoutGone();
    cancels[cancels.length - 1]?.();
  });
}

/** Registers what the first Ctrl-C cancels; returns the function that unregisters it. */
export function onInterrupt(cancel: () => void): () => void {
  cancels.push(cancel);
  return () => {
    const at = cancels.lastIndexOf(cancel);
    if (at !== -1) cancels.splice(at, 1);
  };
}

/** Registers what must happen before the CLI quits at once; returns the function that unregisters it. */
export function beforeQuit(words: () => Promise<void>): () => void {
  lastWords.add(words);
  return () => lastWords.delete(words);
}

/**
 * A running build: the first Ctrl-C cancels it, a second one records it cancelled and quits. Returns
 * the function that stops listening, for the command's finally block.
 */
export function cancelOnInterrupt(session: { cancel(): void; abandon?(): Promise<void> }): () => void {
  const stopCancel = onInterrupt(() => session.cancel());
  const stopQuit = beforeQuit(() => session.abandon?.() ?? Promise.resolve());
  return () => {
    stopCancel();
    stopQuit();
  };
}
