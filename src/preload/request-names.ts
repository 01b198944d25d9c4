import type { RequestName } from '../shared/contract';

/**
 * The contract's request names, written out: a sandboxed preload may require only electron, so it
 * cannot import the contract's table (its schemas need zod). The compiler checks the list is complete.
 */
export const preloadRequestNames = [
  'app.info',
  'app.memory',
  'project.open',
  'project.inspect',
  'project.recent',
  'dialog.openFolder',
  'folders.list',
  'regions.probe',
  'regions.pin',
  'settings.get',
  'settings.update',
  'settings.repair',
  'targets.setToken',
  'registries.list',
  'build.start',
  'build.cancel',
  'build.get',
  'build.timeline',
  'build.rerun',
  'history.list',
  'history.delete',
  'logs.read',
  'logs.interleave',
  'logs.interleavePosition',
  'logs.interleaveSearch',
  'logs.firstError',
  'logs.search',
  'logs.steps',
  'logs.save',
] as const satisfies readonly RequestName[];

type Missing = Exclude<RequestName, (typeof preloadRequestNames)[number]>;
/** Fails to compile, naming the request, when the contract gains one this list lacks. */
export const preloadListIsComplete: [Missing] extends [never] ? true : Missing = true;
