import type { Page } from '@playwright/test';
import type { RequestName, RequestResult } from '../../src/shared/contract';
import type { ServedSlipway } from './serve';

/** Calls the contract over browser mode's HTTP transport, as the window does, with the token header. */
export async function callContract<N extends RequestName>(
  page: Page,
  served: ServedSlipway,
  name: N,
  input: unknown = {},
): Promise<{ result?: RequestResult<N>; error?: { code: string; message: string } }> {
  const response = await page.request.post(`${served.origin}/api/${name}`, {
    headers: { 'x-slipway-token': served.token },
    data: input as Record<string, unknown>,
  });
  return (await response.json()) as { result?: RequestResult<N>; error?: { code: string; message: string } };
}

/** Drops a folder on the drop zone the way a file manager does: a file:// URI in text/uri-list. */
export async function dropFolder(page: Page, fileUri: string, target = '[data-testid=drop-zone]'): Promise<void> {
  const dataTransfer = await page.evaluateHandle((uri) => {
    // Runs in the page, where DataTransfer exists; the test's own types are Node's.
    const { DataTransfer } = globalThis as unknown as {
      DataTransfer: new () => { setData(type: string, value: string): void };
    };
    const transfer = new DataTransfer();
    transfer.setData('text/uri-list', `# dropped by the test\r\n${uri}\r\n`);
    return transfer;
  }, fileUri);
  await page.dispatchEvent(target, 'dragover', { dataTransfer });
  await page.dispatchEvent(target, 'drop', { dataTransfer });
}

export const SCREENS_DIR = 'test-results/screens';
