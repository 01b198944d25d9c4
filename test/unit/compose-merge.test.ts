import { describe, expect, it } from 'vitest';
import { mergeValues, withoutTags } from '../../src/core/project/compose-merge';
import { parseComposeYaml } from '../../src/core/project/compose-yaml';

/** Merges YAML documents as compose merges its files, each read as a compose file is. */
async function merge(...documents: string[]): Promise<unknown> {
  let merged: unknown;
  for (const [index, text] of documents.entries()) {
    merged = mergeValues(merged, await parseComposeYaml(`file${index}.yaml`, text), []);
  }
  return withoutTags(merged);
}

describe('merging compose files by merge.md', () => {
  it('merges mappings by adding missing entries and merging conflicting ones', async () => {
    expect(
      await merge(
        'services:\n  foo:\n    key1: value1\n    key2: value2\n',
        'services:\n  foo:\n    key2: VALUE\n    key3: value3\n',
      ),
    ).toEqual({ services: { foo: { key1: 'value1', key2: 'VALUE', key3: 'value3' } } });
  });

  it('appends sequences', async () => {
    expect(
      await merge('services:\n  foo:\n    DNS:\n      - 1.1.1.1\n', 'services:\n  foo:\n    DNS:\n      - 8.8.8.8\n'),
    ).toEqual({ services: { foo: { DNS: ['1.1.1.1', '8.8.8.8'] } } });
  });

  it('replaces command, entrypoint and healthcheck.test instead of appending', async () => {
    const merged = await merge(
      'services:\n  foo:\n    command: ["echo", "foo"]\n    entrypoint: [a]\n    healthcheck: { test: [x] }\n',
      'services:\n  foo:\n    command: ["echo", "bar"]\n    entrypoint: [b]\n    healthcheck: { test: [y] }\n',
    );
    expect(merged).toEqual({
      services: { foo: { command: ['echo', 'bar'], entrypoint: ['b'], healthcheck: { test: ['y'] } } },
    });
  });

  it('merges unique resources by their key: volumes by target', async () => {
    expect(
      await merge(
        'services:\n  foo:\n    volumes:\n      - foo:/work\n',
        'services:\n  foo:\n    volumes:\n      - bar:/work\n',
      ),
    ).toEqual({ services: { foo: { volumes: ['bar:/work'] } } });
  });

  it('merges build args and labels given as lists or mappings key by key', async () => {
    const merged = await merge(
      'services:\n  foo:\n    build:\n      args: [A=1, B=2]\n      labels: { x: "1" }\n',
      'services:\n  foo:\n    build:\n      args: { B: "3", C: "4" }\n      labels: [y=2]\n',
    );
    expect(merged).toEqual({
      services: { foo: { build: { args: { A: '1', B: '3', C: '4' }, labels: { x: '1', y: '2' } } } },
    });
  });

  it('merges a build path with a build mapping as its context', async () => {
    expect(
      await merge('services:\n  foo:\n    build: ./app\n', 'services:\n  foo:\n    build:\n      target: prod\n'),
    ).toEqual({
      services: { foo: { build: { context: './app', target: 'prod' } } },
    });
  });

  it('removes an attribute tagged !reset (the spec example)', async () => {
    const merged = await merge(
      'services:\n  app:\n    image: myapp\n    ports:\n      - "8080:80"\n    environment:\n      FOO: BAR\n',
      'services:\n  app:\n    image: myapp\n    ports: !reset []\n    environment:\n      FOO: !reset null\n',
    );
    expect(merged).toEqual({ services: { app: { image: 'myapp', environment: {} } } });
  });

  it('replaces an attribute tagged !override whole (the spec example)', async () => {
    const merged = await merge(
      'services:\n  app:\n    image: myapp\n    ports:\n      - "8080:80"\n',
      'services:\n  app:\n    ports: !override\n      - "8443:443"\n',
    );
    expect(merged).toEqual({ services: { app: { image: 'myapp', ports: ['8443:443'] } } });
  });

  it('reads YAML merge keys, the map’s own keys winning', async () => {
    expect(await merge('x: &base { a: 1, b: 2 }\ny:\n  <<: *base\n  b: 3\n')).toEqual({
      x: { a: 1, b: 2 },
      y: { a: 1, b: 3 },
    });
  });

  it('refuses a file that expands too many aliases', async () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let level = 1; level < 8; level++) {
      const name = String.fromCharCode(97 + level);
      const previous = String.fromCharCode(96 + level);
      lines.push(`${name}: &${name} [${Array(10).fill(`*${previous}`).join(', ')}]`);
    }
    await expect(parseComposeYaml('bomb.yaml', lines.join('\n'))).rejects.toMatchObject({ code: 'E_COMPOSE_INVALID' });
  });
});
