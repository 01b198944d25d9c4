import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli';
import { engineUrl } from '../support/engine';
import { fixture, tempDir } from '../support/fixtures';
import { type LatencyProxy, startLatencyProxy } from '../support/latency-proxy';

const url = engineUrl();

/** A CA, a server certificate for 127.0.0.1 and a client certificate, as `docker-machine` lays them out. */
function makeCertificates(dir: string): void {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca-key.pem',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=slipway-test-ca',
  );
  run(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'server-key.pem',
    '-out',
    'server.csr',
    '-subj',
    '/CN=127.0.0.1',
  );
  execFileSync('sh', ['-c', 'printf "subjectAltName=IP:127.0.0.1\\n" > server.ext'], { cwd: dir });
  run(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca-key.pem',
    '-CAcreateserial',
    '-out',
    'server-cert.pem',
    '-days',
    '2',
    '-extfile',
    'server.ext',
  );
  run(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'key.pem',
    '-out',
    'client.csr',
    '-subj',
    '/CN=slipway-client',
  );
  run(
    'x509',
    '-req',
    '-in',
    'client.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca-key.pem',
    '-CAcreateserial',
    '-out',
    'cert.pem',
    '-days',
    '2',
  );
}

describe.skipIf(!url)('a builder over tcp:// with TLS, as DOCKER_CERT_PATH and DOCKER_TLS_VERIFY configure it', () => {
  let certs: Awaited<ReturnType<typeof tempDir>>;
  let proxy: LatencyProxy;
  beforeAll(async () => {
    certs = await tempDir('slipway-certs-');
    makeCertificates(certs.path);
    proxy = await startLatencyProxy({
      upstream: url,
      roundTripMs: 2,
      tls: {
        key: await readFile(join(certs.path, 'server-key.pem')),
        cert: await readFile(join(certs.path, 'server-cert.pem')),
        ca: await readFile(join(certs.path, 'ca.pem')),
      },
    });
  });
  afterAll(async () => {
    await proxy.close();
    await certs.cleanup();
  });

  it('probes and builds with the client certificate, and learns what the engine is', async () => {
    const env = { DOCKER_CERT_PATH: certs.path, DOCKER_TLS_VERIFY: '1' };
    const probe = await runCli(['probe', '--builder', `secure=${proxy.url}`, '--json'], { env });
    expect(probe.code).toBe(0);
    const result = JSON.parse(probe.stdout);
    expect(result.chosen).toBe('secure');
    expect(result.probes[0].engine.product).toBe('podman');
    const project = await fixture('single');
    const data = await tempDir('slipway-tls-data-');
    try {
      const build = await runCli(
        ['build', project.path, '--builder', `secure=${proxy.url}`, '--no-cache', '--data-dir', data.path],
        {
          env,
        },
      );
      expect(build.stderr).toContain('Region secure');
      expect(build.code).toBe(0);
      expect(build.stdout).toContain('greeting: hello from the fixture');
    } finally {
      await Promise.all([project.cleanup(), data.cleanup()]);
    }
  });

  it('names the endpoint and points at the TLS files when the engine rejects the client', async () => {
    const run = await runCli(['probe', '--builder', `secure=${proxy.url}`, '--json'], {
      env: { DOCKER_CERT_PATH: '', DOCKER_TLS_VERIFY: '' },
    });
    expect(run.code).toBe(2);
    const result = JSON.parse(run.stdout);
    expect(result.chosen).toBeNull();
    expect(result.probes[0].error.code).toBe('E_BUILDER_UNREACHABLE');
    expect(result.probes[0].error.message).toContain(proxy.url);
  });
});
