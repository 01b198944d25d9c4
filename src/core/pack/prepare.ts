import type { Task } from '../../shared/domain';
import { type ContextPlan, planContext } from './plan';
import { type ScanRun, startScan } from './scan';

/** A task's context planned and its scan running in a worker, spooled for the packer. */
export interface PreparedContext {
  plan: ContextPlan;
  scan: ScanRun;
}

/** Plans a task's context and starts its scan with a spool (see startScan). */
export async function prepareContext(task: Task): Promise<PreparedContext> {
  const plan = await planContext(task);
  return { plan, scan: await startScan(plan, { spool: true }) };
}

/** Stops the scans of contexts prepared but never packed, and removes their spools. */
export async function disposePrepared(prepared: Iterable<Promise<PreparedContext>>): Promise<void> {
  await Promise.all(
    [...prepared].map((preparing) =>
      preparing.then(
        (context) => context.scan.dispose(),
        () => undefined,
      ),
    ),
  );
}
