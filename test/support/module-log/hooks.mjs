// The loader hooks of register.mjs: they run on the loader's own thread and append each URL as it loads.
import { appendFileSync } from 'node:fs';

let log = '';

export function initialize(data) {
  log = data.log;
}

export async function load(url, context, next) {
  if (!url.startsWith('node:')) appendFileSync(log, `${url}\n`);
  return next(url, context);
}
