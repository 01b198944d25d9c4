import { describe, expect, it } from 'vitest';
import { checkTokenUrl } from '../../src/core/builders/balena/api';
import { connect } from '../../src/core/builders/endpoint';
import { shouldGzip } from '../../src/core/builds/upload';
import { isLoopbackHost } from '../../src/shared/loopback';

describe('compression of an upload', () => {
  it('gzips by default only off the local machine', () => {
    const local = connect({ region: 'local', url: 'unix:///x.sock' });
    const remote = connect({ region: 'eu', url: 'tcp://10.0.0.5:2375' });
    expect(shouldGzip('auto', local)).toBe(false);
    expect(shouldGzip('auto', remote)).toBe(true);
    expect(shouldGzip('always', local)).toBe(true);
    expect(shouldGzip('never', remote)).toBe(false);
    void local.dispatcher.destroy();
    void remote.dispatcher.destroy();
  });

  it('counts localhost, 127.0.0.1 and ::1 (bracketed or not) as this machine, and nothing else', () => {
    for (const host of ['localhost', '127.0.0.1', '[::1]', '::1']) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['10.0.0.5', 'example.com', '[::2]', '']) expect(isLoopbackHost(host)).toBe(false);
    const v6 = connect({ region: 'v6', url: 'tcp://[::1]:2375' });
    expect(v6.loopback).toBe(true);
    void v6.dispatcher.destroy();
    // The balena token may travel over plain http to the same hosts, and to no other.
    expect(() => checkTokenUrl('http://[::1]:4000')).not.toThrow();
    expect(() => checkTokenUrl('http://10.0.0.5:4000')).toThrow(/not https/);
  });
});
