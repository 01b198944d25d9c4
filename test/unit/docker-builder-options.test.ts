import { describe, expect, it } from 'vitest';
import { readBuildFlags } from '../../src/cli/build-flags';
import { checkDockerTask, dockerBuildQuery } from '../../src/core/builders/docker/build-query';
import { chooseDockerBuilder } from '../../src/core/builders/docker/builder-choice';
import { withBuildOptions } from '../../src/core/builds/task-options';
import type { BuildTask, Task } from '../../src/shared/domain';

const docker = { builderVersion: null, apiVersion: '1.41', server: 'Docker/20.10.24+dfsg1 (linux)', podman: false };
const podman = { builderVersion: null, apiVersion: '1.41', server: 'Libpod/4.3.1 (linux)', podman: true };

describe('choosing the builder of a Docker-API engine', () => {
  it('takes BuildKit on Docker Engine, the engine’s default when it says 2, and what the user asks', () => {
    expect(chooseDockerBuilder(docker, 'auto')).toMatchObject({ builder: 'buildkit', product: 'docker' });
    expect(chooseDockerBuilder({ ...docker, server: null, builderVersion: '2' }, 'auto').builder).toBe('buildkit');
    expect(chooseDockerBuilder({ ...docker, apiVersion: '1.38' }, 'auto').builder).toBe('classic');
    expect(chooseDockerBuilder(docker, '1').builder).toBe('classic');
    expect(chooseDockerBuilder({ ...docker, server: 'balena-engine/20.10' }, 'auto')).toMatchObject({
      builder: 'classic',
      product: 'balena',
    });
  });

  it('always builds classic on Podman, and says so when BuildKit was asked', () => {
    expect(chooseDockerBuilder(podman, 'auto')).toMatchObject({ builder: 'classic', product: 'podman' });
    expect(chooseDockerBuilder(podman, '2').reason).toContain('Podman ignores it');
  });
});

const base: Task = { id: 'api', service: 'api', contextPath: '/p/api', dockerfile: 'Dockerfile' };
const queued = (task: Task): BuildTask => ({ task, state: { phase: 'queued' }, tag: 'p-api', scan: null, logLines: 0 });

describe('what a Docker-API build sends of a task’s options', () => {
  const task: Task = {
    ...base,
    tags: ['reg/api:1', 'p-api'],
    target: 'prod',
    buildArgs: { A: '1' },
    labels: { team: 'x' },
    network: 'none',
    extraHosts: ['db:10.0.0.5', 'cache:10.0.0.6'],
    shmSizeBytes: 64 << 20,
    cacheFrom: ['reg/api:cache'],
    pull: true,
    noCache: true,
    platforms: ['linux/ARM64'],
  };

  it('sends each option BuildKit takes, as the Engine API names it', () => {
    const query = dockerBuildQuery(queued(task), 'Dockerfile', 'buildkit', 'docker');
    expect(query.getAll('t')).toEqual(['p-api', 'reg/api:1']);
    expect(query.getAll('extrahosts')).toEqual(['db:10.0.0.5', 'cache:10.0.0.6']);
    expect(Object.fromEntries([...query].filter(([key]) => key !== 't' && key !== 'extrahosts'))).toEqual({
      dockerfile: 'Dockerfile',
      rm: '1',
      forcerm: '1',
      buildargs: '{"A":"1"}',
      target: 'prod',
      labels: '{"team":"x"}',
      nocache: '1',
      pull: '1',
      networkmode: 'none',
      shmsize: String(64 << 20),
      cachefrom: '["reg/api:cache"]',
      platform: 'linux/arm64',
      version: '2',
    });
    expect(checkDockerTask(task, 'buildkit', 'docker')).toEqual({ warnings: [], errors: [] });
  });

  it('warns, naming the key and the service, before a builder is sent what it cannot take', () => {
    const classic = checkDockerTask(task, 'classic', 'docker');
    expect(classic.warnings).toEqual([expect.stringMatching(/^platforms \(--platform\) of service api is not sent/)]);
    expect(dockerBuildQuery(queued(task), 'Dockerfile', 'classic', 'docker').has('platform')).toBe(false);
    const session = checkDockerTask(
      {
        ...base,
        secrets: [{ id: 'npm', file: '/s' }],
        ssh: [{ id: 'default', paths: [] }],
        additionalContexts: { x: '/x' },
      },
      'buildkit',
      'docker',
    );
    expect(session.warnings.map((warning) => warning.split(' of ')[0])).toEqual([
      'secrets (--secret)',
      'ssh (--ssh)',
      'additional_contexts',
    ]);
    expect(
      checkDockerTask({ ...base, platforms: ['linux/amd64', 'linux/arm64'] }, 'buildkit', 'docker').warnings,
    ).toHaveLength(1);
  });

  it('sends Podman its extra hosts as one JSON list, and a remote context with no body', () => {
    const query = dockerBuildQuery(
      queued({ ...task, remoteContext: 'https://git.example/app.git' }),
      'Dockerfile',
      'classic',
      'podman',
    );
    expect(query.get('extrahosts')).toBe('["db:10.0.0.5","cache:10.0.0.6"]');
    expect(query.get('platform')).toBe('linux/arm64');
    expect(query.get('remote')).toBe('https://git.example/app.git');
    expect(query.has('version')).toBe(false);
  });
});

describe('build options from the command line', () => {
  it('merge into each task: flags win for single values, lists and maps are joined, tags get the service', () => {
    const { options, builderVersion } = readBuildFlags(
      {
        tag: ['app:1'],
        'build-arg': ['A=2', 'FROM_ENV'],
        label: ['k=v'],
        network: 'none',
        platform: ['linux/amd64'],
        'add-host': ['db:10.1.1.1'],
        'shm-size': '64m',
        'builder-version': '2',
        target: 'dev',
      },
      { FROM_ENV: 'e' },
    );
    expect(builderVersion).toBe('2');
    const merged = withBuildOptions(
      { ...base, buildArgs: { A: '1', B: '1' }, extraHosts: ['x:1.1.1.1'], target: 'prod' },
      options,
      true,
    );
    expect(merged).toMatchObject({
      tags: ['app-api:1'],
      buildArgs: { A: '2', B: '1', FROM_ENV: 'e' },
      labels: { k: 'v' },
      network: 'none',
      platforms: ['linux/amd64'],
      extraHosts: ['x:1.1.1.1', 'db:10.1.1.1'],
      shmSizeBytes: 64 << 20,
      target: 'dev',
    });
  });

  it('refuses what it cannot read, naming the flag', () => {
    expect(() => readBuildFlags({ 'builder-version': '3' })).toThrow(/--builder-version takes 1, 2 or auto/);
    expect(() => readBuildFlags({ 'shm-size': 'lots' })).toThrow(/--shm-size/);
    expect(() => readBuildFlags({ 'add-host': ['nohost'] })).toThrow(/--add-host takes HOST:IP/);
    expect(() => readBuildFlags({ label: ['novalue'] })).toThrow(/--label takes KEY=VALUE/);
  });
});
