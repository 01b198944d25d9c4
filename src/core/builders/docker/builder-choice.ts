import type { DockerBuilder, EngineProduct } from './build-query';
import type { PingHeaders } from './request';

/** What the user asked for: the classic builder (1), BuildKit (2), or what suits the engine. */
export type BuilderVersion = '1' | '2' | 'auto';

export interface BuilderChoice {
  builder: DockerBuilder;
  product: EngineProduct;
  /** Why, in words for the log and the CLI. */
  reason: string;
}

/** The first API version with BuildKit behind POST /build?version=2 (Docker 18.09). */
const BUILDKIT_API = [1, 39];

function atLeast(version: string | null, [major, minor]: number[]): boolean {
  const match = /^(\d+)\.(\d+)/.exec(version ?? '');
  if (!match) return false;
  const [got, gotMinor] = [Number(match[1]), Number(match[2])];
  return got > (major as number) || (got === major && gotMinor >= (minor as number));
}

function productOf(headers: PingHeaders): EngineProduct {
  if (headers.podman) return 'podman';
  const server = headers.server ?? '';
  if (/balena/i.test(server)) return 'balena';
  if (/^docker\//i.test(server)) return 'docker';
  return 'unknown';
}

/**
 * Picks the builder of a Docker-API engine from its /_ping headers. Podman always builds with buildah
 * (it ignores `version`, and buildah knows BuildKit's syntax). `auto` takes BuildKit where the engine
 * says it is its default (`Builder-Version: 2`), and on any Docker Engine that has it (API 1.39 and
 * later): Docker deprecated the classic builder in v23, and Dockerfiles written today use BuildKit's
 * syntax. balenaEngine and engines that do not name themselves get the classic builder.
 */
export function chooseDockerBuilder(headers: PingHeaders, asked: BuilderVersion): BuilderChoice {
  const product = productOf(headers);
  if (product === 'podman') {
    const note = asked === '2' ? ' (version 2 was asked; Podman ignores it)' : '';
    return { builder: 'classic', product, reason: `Podman builds with buildah${note}` };
  }
  if (asked === '1') return { builder: 'classic', product, reason: '--builder-version 1' };
  if (asked === '2') return { builder: 'buildkit', product, reason: '--builder-version 2' };
  if (headers.builderVersion === '2') {
    return { builder: 'buildkit', product, reason: 'the engine builds with BuildKit by default (Builder-Version: 2)' };
  }
  if (product === 'docker' && atLeast(headers.apiVersion, BUILDKIT_API)) {
    return { builder: 'buildkit', product, reason: `${headers.server} has BuildKit (API ${headers.apiVersion})` };
  }
  return { builder: 'classic', product, reason: `${headers.server ?? 'the engine'} gets the classic builder` };
}
