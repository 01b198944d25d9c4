import type { Session, WebContents } from 'electron';
import { CONTENT_SECURITY_POLICY } from '../shared/content-security-policy';

/** Navigation and new windows are denied: the page is the app, and a link never replaces it. */
export function hardenContents(contents: Pick<WebContents, 'on' | 'setWindowOpenHandler'>): void {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

/** Every response carries the CSP, and the page gets no permission (camera, notifications, ...). */
export function hardenSession(session: Pick<Session, 'webRequest' | 'setPermissionRequestHandler'>): void {
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] },
    });
  });
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
}
