import { errorCode, errorMessage } from '../format';
import { type Failure, type Notice, set } from './app-state';

let noticeId = 0;
/** Shows a short message at the top of the window; errors stay until dismissed. */
export function notify(text: string, tone: Notice['tone'] = 'error'): void {
  noticeId += 1;
  const id = noticeId;
  set((state) => ({ notices: [...state.notices.slice(-3), { id, tone, text }] }));
  if (tone === 'info') setTimeout(() => dismissNotice(id), 4000);
}

export function dismissNotice(id: number): void {
  set((state) => ({ notices: state.notices.filter((notice) => notice.id !== id) }));
}

export function notifyFailure(what: string, error: unknown): void {
  notify(`${what}: ${errorCode(error)}: ${errorMessage(error)}`);
}

export function failure(error: unknown): Failure {
  return { code: errorCode(error), message: errorMessage(error) };
}
