import { spawn } from 'node:child_process';
import { SlipwayError } from '../../../shared/errors';
import type { RegistryCredentials } from './index';

/** A helper may have to unlock a keyring; one that answers nothing for this long is stuck. */
const HELPER_TIMEOUT_MS = 60_000;

/** A helper's answer is a small JSON document; more than this is not one. */
const MAX_OUTPUT_BYTES = 1024 * 1024;

/** What docker-credential-helpers print when a store holds nothing for the server (credentials/error.go). */
const NOT_FOUND = 'credentials not found in native keychain';

/** The user name a helper stores an identity token under (the docker CLI's convention). */
const TOKEN_USERNAME = '<token>';

interface HelperRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

function helperError(program: string, what: string, hint?: string): SlipwayError {
  return new SlipwayError('E_CREDENTIAL_HELPER', `The credential helper ${program} ${what}`, {
    hint: hint ?? `Check the helper with \`${program} list\`, or remove it from config.json (credsStore, credHelpers).`,
  });
}

/** Runs `docker-credential-<name> <action>` with `input` on stdin, as the docker CLI does. */
function runHelper(name: string, action: 'get' | 'list', input: string, env: NodeJS.ProcessEnv): Promise<HelperRun> {
  const program = `docker-credential-${name}`;
  return new Promise((resolve, reject) => {
    const child = spawn(program, [action], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    // Its own timer, not spawn's `timeout`: that one outlives a helper that never started (ENOENT).
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, HELPER_TIMEOUT_MS);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let bytes = 0;
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > MAX_OUTPUT_BYTES) child.kill('SIGKILL');
      else into.push(chunk);
    };
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    // A helper that exits without reading stdin breaks the pipe: its exit status tells what happened.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        error.code === 'ENOENT'
          ? helperError(
              program,
              'is not on PATH',
              `config.json names the helper "${name}"; install ${program} or remove it from config.json.`,
            )
          : helperError(program, `could not be started (${error.code ?? error.message})`),
      );
    });
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      if (bytes > MAX_OUTPUT_BYTES) return reject(helperError(program, `${action} printed more than 1 MiB`));
      if (timedOut) return reject(helperError(program, `${action} gave no answer within 60 s`));
      if (signal) return reject(helperError(program, `${action} was stopped by ${signal}`));
      resolve({
        status,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

/** The reason a helper gives for failing, short; a failing helper prints no secret, only why. */
function failureText(run: HelperRun): string {
  const text = (run.stdout.trim() || run.stderr.trim()).split('\n')[0] ?? '';
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/**
 * `get`: the credentials a helper holds for one server, or null when it holds none. The answer is
 * `{"ServerURL","Username","Secret"}`; the user name `<token>` marks an identity token.
 */
export async function helperGet(
  name: string,
  serverUrl: string,
  env: NodeJS.ProcessEnv,
): Promise<RegistryCredentials | null> {
  const program = `docker-credential-${name}`;
  const run = await runHelper(name, 'get', serverUrl, env);
  if (run.status !== 0) {
    if (run.stdout.includes(NOT_FOUND) || run.stderr.includes(NOT_FOUND)) return null;
    throw helperError(program, `get ${serverUrl} failed (exit ${run.status}): ${failureText(run) || 'no message'}`);
  }
  let answer: unknown;
  try {
    answer = JSON.parse(run.stdout);
  } catch {
    // Its output is not quoted: it may hold the secret.
    throw helperError(program, `get ${serverUrl} printed something that is not JSON`);
  }
  const { Username: username, Secret: secret } = (answer ?? {}) as { Username?: unknown; Secret?: unknown };
  if (typeof secret !== 'string' || (username !== undefined && typeof username !== 'string')) {
    throw helperError(program, `get ${serverUrl} printed JSON without a Username and Secret`);
  }
  if (secret === '' && !username) return null;
  if (username === TOKEN_USERNAME) return { username: '', secret, identityToken: true };
  return { username: username ?? '', secret };
}

/** `list`: the servers a store holds credentials for (`{"<server>":"<username>"}`). */
export async function helperList(name: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  const program = `docker-credential-${name}`;
  const run = await runHelper(name, 'list', '', env);
  if (run.status !== 0) {
    throw helperError(program, `list failed (exit ${run.status}): ${failureText(run) || 'no message'}`);
  }
  let answer: unknown;
  try {
    answer = JSON.parse(run.stdout.trim() === '' ? '{}' : run.stdout);
  } catch {
    throw helperError(program, 'list printed something that is not JSON');
  }
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) {
    throw helperError(program, 'list printed JSON that is not an object of servers');
  }
  return Object.keys(answer);
}
