import { describe, expect, it } from 'vitest';
import { parseSecret, parseSsh, readBuildFlags } from '../../src/cli/build-flags';
import { comparePaths, syncRequestOf } from '../../src/core/builders/buildkit-session/filesync';
import { metadataOf } from '../../src/core/builders/buildkit-session/grpc';
import { goFileMode } from '../../src/core/builders/buildkit-session/messages';
import { checkDockerTask } from '../../src/core/builders/docker/build-query';
import { withBuildOptions } from '../../src/core/builds/task-options';
import type { Task } from '../../src/shared/domain';

const base: Task = { id: 'api', service: 'api', contextPath: '/ctx', dockerfile: 'Dockerfile' };

describe('--secret and --ssh', () => {
  it('read secrets as the docker CLI does: id with src, source, env, or type=env naming the variable', () => {
    expect(parseSecret('id=npm,src=/run/npmrc')).toEqual({ id: 'npm', file: '/run/npmrc' });
    expect(parseSecret('id=npm,source=/run/npmrc')).toEqual({ id: 'npm', file: '/run/npmrc' });
    expect(parseSecret('id=token,env=TOKEN')).toEqual({ id: 'token', env: 'TOKEN' });
    expect(parseSecret('type=env,id=token,src=TOKEN')).toEqual({ id: 'token', env: 'TOKEN' });
    expect(() => parseSecret('src=/x')).toThrow(/names no id/);
    expect(() => parseSecret('id=x')).toThrow(/neither a file/);
    expect(() => parseSecret('id=x,mode=0400')).toThrow(/unexpected key "mode"/);
    expect(() => parseSecret('id=x,type=ssh,src=/x')).toThrow(/unsupported secret type/);
  });

  it('read agents as default or ID=PATH, and replace a compose secret or agent of the same id', () => {
    expect(parseSsh('default')).toEqual({ id: 'default', paths: [] });
    expect(parseSsh('git=/tmp/agent.sock')).toEqual({ id: 'git', paths: ['/tmp/agent.sock'] });
    const { options } = readBuildFlags({ secret: ['id=npm,env=NPM'], ssh: ['default'] });
    const task = withBuildOptions(
      {
        ...base,
        secrets: [
          { id: 'npm', file: '/old' },
          { id: 'other', file: '/o' },
        ],
      },
      options,
      false,
    );
    expect(task.secrets).toEqual([
      { id: 'other', file: '/o' },
      { id: 'npm', env: 'NPM' },
    ]);
    expect(task.ssh).toEqual([{ id: 'default', paths: [] }]);
  });

  it('refuse, before building, a secret file that does not exist and an agent with no socket', () => {
    const saved = process.env.SSH_AUTH_SOCK;
    delete process.env.SSH_AUTH_SOCK;
    try {
      const checked = checkDockerTask(
        { ...base, secrets: [{ id: 'npm', file: '/no/such/npmrc' }], ssh: [{ id: 'default', paths: [] }] },
        'buildkit',
        'docker',
        true,
      );
      expect(checked.warnings).toEqual([]);
      expect(checked.errors.map((error) => [error.code, error.message])).toEqual([
        ['E_BAD_INPUT', 'The secret npm of service api names /no/such/npmrc, which does not exist'],
        ['E_BAD_INPUT', 'ssh default of service api names no agent socket, and SSH_AUTH_SOCK is not set'],
      ]);
    } finally {
      if (saved !== undefined) process.env.SSH_AUTH_SOCK = saved;
    }
  });
});

describe('the session wire', () => {
  it("orders paths as fsutil does: a folder's contents before its next sibling", () => {
    const paths = ['a.txt', 'a/b', 'a', 'a-b', 'a/b/c', 'ab'];
    expect(paths.sort(comparePaths)).toEqual(['a', 'a/b', 'a/b/c', 'a-b', 'a.txt', 'ab']);
  });

  it("sends modes as Go's os.FileMode", () => {
    expect(goFileMode(0o100644)).toBe(0o644);
    expect(goFileMode(0o040755)).toBe((0x80000000 | 0o755) >>> 0);
    expect(goFileMode(0o120777)).toBe((1 << 27) | 0o777);
    expect(goFileMode(0o104755)).toBe((1 << 23) | 0o755);
  });

  it('keeps repeated metadata keys apart and decodes the values BuildKit escaped', () => {
    const metadata = metadataOf([
      ':path',
      '/moby.filesync.v1.FileSync/DiffCopy',
      'dir-name',
      'context',
      'exclude-patterns',
      'a, b',
      'exclude-patterns',
      'caf%C3%A9',
      'exclude-patterns-encoded',
      '1',
      'followpaths',
      'Dockerfile',
    ]);
    expect(syncRequestOf(metadata)).toEqual({
      dirName: 'context',
      includes: [],
      excludes: ['a, b', 'café'],
      followPaths: ['Dockerfile'],
    });
  });
});
