import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ping } from '../../src/core/builders/docker/request';
import { connect } from '../../src/core/builders/endpoint';
import { redactUrl, tlsFromEnv } from '../../src/core/builders/endpoint-url';
import { parseVersion } from '../../src/core/builders/engine-info';
import { parseBuilderSpec, targetFromSpecs } from '../../src/core/builders/targets';

describe('builder targets', () => {
  it('reads REGION=URL, and a bare URL as region "local"', () => {
    expect(parseBuilderSpec('eu-west=tcp://10.0.0.5:2375', {})).toEqual({
      region: 'eu-west',
      url: 'tcp://10.0.0.5:2375',
    });
    expect(parseBuilderSpec('unix:///run/podman/podman.sock', {})).toEqual({
      region: 'local',
      url: 'unix:///run/podman/podman.sock',
    });
    expect(parseBuilderSpec('https://builder.example/?token=a=b', {}).url).toBe('https://builder.example/?token=a=b');
  });

  it('refuses what is not a builder URL, and the same region twice', () => {
    expect(() => parseBuilderSpec('eu=ftp://x', {})).toThrow(/Not a builder: eu=ftp:\/\/x/);
    expect(() => targetFromSpecs(['eu=tcp://a:1', 'eu=tcp://b:1'], {})).toThrow(/Region eu is given twice/);
  });

  it('takes TLS for tcp:// from DOCKER_CERT_PATH and DOCKER_TLS_VERIFY, as the docker CLI does', async () => {
    const certs = await mkdtemp(join(tmpdir(), 'slipway-certs-'));
    for (const name of ['ca.pem', 'cert.pem', 'key.pem']) await writeFile(join(certs, name), 'x');
    const env = { DOCKER_CERT_PATH: certs, DOCKER_TLS_VERIFY: '1' };
    expect(parseBuilderSpec('eu=tcp://10.0.0.5:2376', env).tls).toEqual({
      ca: join(certs, 'ca.pem'),
      cert: join(certs, 'cert.pem'),
      key: join(certs, 'key.pem'),
      verify: true,
    });
    expect(tlsFromEnv({ DOCKER_CERT_PATH: certs })?.verify).toBe(false);
    expect(tlsFromEnv({})).toBeUndefined();
    expect(parseBuilderSpec('unix:///x.sock', env).tls).toBeUndefined();
  });

  it('names a missing TLS file without reading out any key material', () => {
    expect(() => connect({ region: 'eu', url: 'tcp://h:2376', tls: { key: '/nonexistent/key.pem' } })).toThrow(
      /Cannot read the TLS client key \/nonexistent\/key.pem for tcp:\/\/h:2376: ENOENT/,
    );
  });

  it('hides credentials and tokens in URLs that are shown or logged', () => {
    expect(redactUrl('https://user:s3cret@builder.example:2376/')).toBe('https://***:***@builder.example:2376/');
    expect(redactUrl('https://builder.example/?token=abc&x=1')).toBe('https://builder.example/?token=***&x=1');
    expect(redactUrl('unix:///run/docker.sock')).toBe('unix:///run/docker.sock');
    const connection = connect({ region: 'eu', url: 'http://user:s3cret@127.0.0.1:9' });
    expect(connection.label).not.toContain('s3cret');
    void connection.dispatcher.destroy();
  });

  it('sends credentials in the URL as a Basic authorization header on every request', async () => {
    const seen: (string | undefined)[] = [];
    const server = createServer((request, response) => {
      seen.push(request.headers.authorization);
      response.end('OK');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const connection = connect({ region: 'eu', url: `http://robot:p%40ss@127.0.0.1:${port}` });
    try {
      await ping(connection);
      await ping(connection);
    } finally {
      await connection.dispatcher.destroy();
      server.close();
    }
    expect(seen).toEqual([
      `Basic ${Buffer.from('robot:p@ss').toString('base64')}`,
      `Basic ${Buffer.from('robot:p@ss').toString('base64')}`,
    ]);
  });

  it('tells Docker, Podman and balenaEngine apart from /version', () => {
    expect(
      parseVersion({
        Version: '4.3.1',
        ApiVersion: '1.41',
        Os: 'linux',
        Arch: 'amd64',
        Components: [{ Name: 'Podman Engine' }],
      }),
    ).toEqual({
      product: 'podman',
      version: '4.3.1',
      apiVersion: '1.41',
      os: 'linux',
      arch: 'amd64',
    });
    expect(
      parseVersion({ Platform: { Name: 'Docker Engine - Community' }, Components: [{ Name: 'Engine' }] }).product,
    ).toBe('docker');
    expect(parseVersion({ Platform: { Name: 'balenaEngine' } }).product).toBe('balena');
    expect(parseVersion({}).product).toBe('unknown');
  });
});
