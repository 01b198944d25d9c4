import { mkdir, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { inspectTask } from '../../src/core/pack/inspect';
import { decodeName, encodeName } from '../../src/core/pack/names';
import { PACK_MEMORY_BYTES, packContext } from '../../src/core/pack/pack';
import { planFromText } from '../../src/core/pack/plan';
import { scanContext } from '../../src/core/pack/scan';
import { ignoreRuleFromText } from '../../src/core/project/ignore';
import { tempDir } from '../support/fixtures';
import { collector } from '../support/streams';
import { listTar } from '../support/tar-list';

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups) await cleanup();
  cleanups = [];
});

describe('the ignore rule', () => {
  it('walks an excluded folder only when an exception starts with its path, as the docker CLI does', () => {
    const rule = ignoreRuleFromText(
      'node_modules\n!node_modules/keep/package.json\nvendor\n!vendor/*/x\n',
      'Dockerfile',
    );
    expect(rule.verdict('node_modules', true)).toBe('walk');
    expect(rule.verdict('node_modules/keep', true)).toBe('walk');
    expect(rule.verdict('node_modules/other', true)).toBe('skip');
    expect(rule.verdict('node_modules/keep/package.json', false)).toBe('send');
    expect(rule.verdict('node_modules/keep/index.js', false)).toBe('skip');
    expect(rule.verdict('vendor', true)).toBe('walk');
    // "vendor/*/x/" does not start with "vendor/a/": the CLI skips the folder, whatever the wildcard says.
    expect(rule.verdict('vendor/a', true)).toBe('skip');
  });

  it('always sends the Dockerfile and the .dockerignore, unless the Dockerfile comes from elsewhere', () => {
    const rule = ignoreRuleFromText('*\n', 'docker/Dockerfile');
    expect(rule.verdict('.dockerignore', false)).toBe('send');
    expect(rule.verdict('docker', true)).toBe('walk');
    expect(rule.verdict('docker/Dockerfile', false)).toBe('send');
    expect(rule.verdict('src', true)).toBe('skip');
    expect(ignoreRuleFromText('Dockerfile\n', null).verdict('Dockerfile', false)).toBe('skip');
  });
});

describe('names that are not UTF-8', () => {
  it('decode to a string that encodes back to the same bytes, and leave UTF-8 names alone', () => {
    const odd = Buffer.from([0x61, 0xff, 0xc3, 0x28, 0xe2, 0x82, 0xac]);
    expect(encodeName(decodeName(odd))).toEqual(odd);
    expect(decodeName(Buffer.from('caf\u00e9 \u{1f680}'))).toBe('caf\u00e9 \u{1f680}');
    expect(encodeName('caf\u00e9 \u{1f680}')).toEqual(Buffer.from('caf\u00e9 \u{1f680}'));
  });

  it('are packed as PAX records of their bytes, the scan predicting the size exactly', async () => {
    const dir = await tempDir('slipway-names-');
    cleanups.push(dir.cleanup);
    const odd = Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe]);
    await writeFile(Buffer.concat([Buffer.from(`${dir.path}/`), odd]), 'odd');
    await symlink(Buffer.concat([Buffer.from('target-'), odd]) as unknown as string, join(dir.path, 'link'));
    const plan = planFromText(dir.path, '');
    const scan = await scanContext(plan);
    const out = collector();
    await pipeline(await packContext(plan), out.sink);
    const tar = out.bytes();
    expect(tar.length).toBe(scan.tarBytes);
    expect(tar.includes(Buffer.concat([Buffer.from(' path='), odd, Buffer.from('\n')]))).toBe(true);
    expect(tar.includes(Buffer.concat([Buffer.from(' linkpath=target-'), odd, Buffer.from('\n')]))).toBe(true);
  });
});

describe('the order of entries', () => {
  it('is the byte order of names in every folder, ASCII or not, as the docker CLI walks', async () => {
    const dir = await tempDir('slipway-order-');
    cleanups.push(dir.cleanup);
    const ascii = ['b', 'B', '_x', '-y', 'a.b', 'a-b', '0'];
    // UTF-16 order puts U+1F680 (a surrogate pair) before U+FF5E; byte order puts it after U+FFFD.
    const mixed = [...ascii, '\u{1f680}', '\uff5e', '\ufffd-literal', '\u00e9'].map((name) => Buffer.from(name));
    mixed.push(Buffer.from([0x7a, 0xff]));
    await mkdir(join(dir.path, 'ascii'));
    await mkdir(join(dir.path, 'mixed'));
    for (const name of ascii) await writeFile(join(dir.path, 'ascii', name), name);
    for (const name of mixed) await writeFile(Buffer.concat([Buffer.from(`${dir.path}/mixed/`), name]), 'x');
    const out = collector();
    await pipeline(await packContext(planFromText(dir.path, '')), out.sink);
    const tarFile = join(dir.path, '..', `${dir.path.split('/').at(-1)}.tar`);
    await writeFile(tarFile, out.bytes());
    cleanups.push(() => rm(tarFile, { force: true }));
    const names = (await listTar(tarFile)).map((entry) => entry.name);
    const inFolder = (folder: string) =>
      names.filter((name) => name.subarray(0, folder.length + 1).equals(Buffer.from(`${folder}/`)));
    const sortedBytes = (list: Buffer[], folder: string) =>
      [...list].sort(Buffer.compare).map((name) => Buffer.concat([Buffer.from(`${folder}/`), name]));
    expect(inFolder('ascii')).toEqual(
      sortedBytes(
        ascii.map((name) => Buffer.from(name)),
        'ascii',
      ),
    );
    expect(inFolder('mixed')).toEqual(sortedBytes(mixed, 'mixed'));
  });
});

describe('inspecting a large context', () => {
  it('names the folders that dominate it and the .dockerignore lines that would remove them', async () => {
    const dir = await tempDir('slipway-large-');
    cleanups.push(dir.cleanup);
    await writeFile(join(dir.path, 'Dockerfile'), 'FROM scratch\n');
    await mkdir(join(dir.path, 'node_modules', 'left-pad'), { recursive: true });
    await mkdir(join(dir.path, 'src'));
    await writeFile(join(dir.path, 'src', 'app.js'), 'app');
    const sparse = join(dir.path, 'node_modules', 'left-pad', 'huge.bin');
    await writeFile(sparse, '');
    await truncate(sparse, 300 << 20);
    const inspection = await inspectTask({
      id: 'main',
      service: 'main',
      contextPath: dir.path,
      dockerfile: 'Dockerfile',
    });
    expect(inspection.scan.files).toBe(3);
    expect(inspection.largestFiles[0]).toEqual({ path: 'node_modules/left-pad/huge.bin', bytes: 300 << 20 });
    expect(inspection.largestFolders.map((folder) => folder.path)).toEqual([
      'node_modules',
      'node_modules/left-pad',
      'src',
    ]);
    expect(inspection.suggestedIgnores).toEqual(['**/node_modules']);
    expect(inspection.warnings[0]).toContain('node_modules/left-pad/ 300 MiB (100%)');
    expect(inspection.warnings[0]).toContain('**/node_modules');
    // The pipeline and the pack worker's isolate (an empty one is about 10 MiB), not the 300 MiB context.
    expect(inspection.memoryEstimateBytes).toBeGreaterThan(PACK_MEMORY_BYTES + (10 << 20));
    expect(inspection.memoryEstimateBytes).toBeLessThan(32 << 20);
  });

  it('never suggests ignoring the folder that holds the Dockerfile', async () => {
    const dir = await tempDir('slipway-build-folder-');
    cleanups.push(dir.cleanup);
    await mkdir(join(dir.path, 'build'));
    await writeFile(join(dir.path, 'build', 'App.Dockerfile'), 'FROM scratch\n');
    await mkdir(join(dir.path, 'dist'));
    await writeFile(join(dir.path, 'dist', 'bundle.js'), 'bundle');
    const inspection = await inspectTask({
      id: 'main',
      service: 'main',
      contextPath: dir.path,
      dockerfile: 'build/App.Dockerfile',
    });
    expect(inspection.largestFolders.map((folder) => folder.path)).toContain('build');
    expect(inspection.suggestedIgnores).not.toContain('build');
    expect(inspection.suggestedIgnores).toContain('dist');
  });
});
