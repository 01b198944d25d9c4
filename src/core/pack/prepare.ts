import { resolve } from 'node:path';
import type { Task } from '../../shared/domain';
import type { IgnoreFlavour } from '../project/ignore';
import { type ContextPlan, planContext } from './plan';
import { ReadAhead } from './read-ahead-host';
import { type ScanRun, startScan } from './scan';
import type { ScanSpool } from './scan-spool';

/**
 * A task's context planned, its scan running in a worker and spooled for the packer, and a read-ahead
 * of that spool started in the same worker, for the task's first pack to take over (see packContext).
 */
export interface PreparedContext {
  plan: ContextPlan;
  scan: ScanRun;
  readAhead: ReadAhead;
}

/**
 * Plans a task's context (with the ignore file of the builder's `flavour`), and starts its scan with a spool (see startScan) and a read-ahead of it: a
 * worker takes most of 0.1 s to start, which a small build would otherwise wait for when it packs.
 */
export async function prepareContext(task: Task, flavour: IgnoreFlavour = 'classic'): Promise<PreparedContext> {
  const plan = await planContext(task, flavour);
  const scan = await startScan(plan, { spool: true, readAhead: true });
  try {
    return {
      plan,
      scan,
      readAhead: new ReadAhead(resolve(plan.root), scan.spool as ScanSpool, scan.readAhead ?? undefined),
    };
  } catch (error) {
    scan.readAhead?.port.close();
    await scan.dispose();
    throw error;
  }
}

/** Stops the scans and read-aheads of contexts prepared but never packed, and removes their spools. */
export async function disposePrepared(prepared: Iterable<Promise<PreparedContext>>): Promise<void> {
  await Promise.all(
    [...prepared].map((preparing) =>
      preparing.then(
        async (context) => {
          await Promise.all([context.readAhead.stop(), context.scan.dispose()]);
        },
        () => undefined,
      ),
    ),
  );
}
