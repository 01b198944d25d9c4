import { SlipwayError } from '../../shared/errors';

const PLAIN_ID = /^[\w][\w.-]*$/;

/** True for a name that can be a build or task id: a plain name, no path. */
export function isPlainId(name: string): boolean {
  return PLAIN_ID.test(name);
}

/** Build and task ids name folders and files: only plain names get near the file system. */
export function assertPlainIds(...ids: string[]): void {
  for (const id of ids) {
    if (!isPlainId(id)) throw new SlipwayError('E_BAD_INPUT', `Not a build or task id: ${JSON.stringify(id)}`);
  }
}
