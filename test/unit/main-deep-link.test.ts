import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { linkInArgv, routeOfLink, wireDeepLinks } from '../../src/main/deep-link';

describe('slipway:// links in the desktop app', () => {
  it("open the same route as browser mode's line links", () => {
    expect(routeOfLink('slipway://build/20261201-120000-abc/web/42')).toBe('#build/20261201-120000-abc/web/42');
    expect(routeOfLink('slipway://build/20261201-120000-abc/web')).toBe('#/build/20261201-120000-abc/log/web');
    expect(routeOfLink('slipway://build/20261201-120000-abc/')).toBe('#/build/20261201-120000-abc');
    expect(routeOfLink('SLIPWAY://build/b/t/1')).toBe('#build/b/t/1');
  });

  it('are refused unless they name a build, a task and a line of plain ids and numbers', () => {
    for (const url of [
      'https://build/b/t/1',
      'slipway://settings',
      'slipway://build/../t/1',
      'slipway://build/b/%2e%2e/1',
      'slipway://build/b/t/0',
      'slipway://build/b/t/1e3',
      'slipway://build/b/t/1/more',
      'slipway://build/b/t/%zz',
    ]) {
      expect(routeOfLink(url), url).toBeNull();
    }
  });

  it('are found among the arguments a second instance was started with, and handed to the first', () => {
    expect(linkInArgv(['/usr/bin/slipway', '--flag', 'slipway://build/b/t/3'])).toBe('slipway://build/b/t/3');
    expect(linkInArgv(['/usr/bin/slipway'])).toBeNull();

    const events = new EventEmitter();
    const opened: string[] = [];
    const app = {
      registered: '',
      quits: 0,
      requestSingleInstanceLock: () => true,
      setAsDefaultProtocolClient: (scheme: string) => {
        app.registered = scheme;
        return true;
      },
      quit: () => {
        app.quits += 1;
      },
      on: (name: string, listener: (...args: unknown[]) => void) => events.on(name, listener),
    };
    expect(wireDeepLinks(app as never, ['slipway', 'slipway://build/b/t/1'], (route) => opened.push(route))).toBe(true);
    expect(app.registered).toBe('slipway');
    events.emit('second-instance', {}, ['slipway', 'slipway://build/b/t/2']);
    let prevented = false;
    events.emit('open-url', { preventDefault: () => (prevented = true) }, 'slipway://build/b/t/3');
    events.emit('open-url', { preventDefault: () => undefined }, 'slipway://elsewhere');
    expect(opened).toEqual(['#build/b/t/1', '#build/b/t/2', '#build/b/t/3']);
    expect(prevented).toBe(true);

    // A second instance quits at once: the first one has the address.
    const quitsBefore = app.quits;
    expect(wireDeepLinks({ ...app, requestSingleInstanceLock: () => false } as never, [], () => undefined)).toBe(false);
    expect(app.quits).toBe(quitsBefore + 1);
  });
});
