import { SlipwayError } from '../../../shared/errors';

/**
 * How engines say a registry refused a pull for want of (valid) credentials: the classic builder
 * ("no basic auth credentials", "unauthorized: authentication required", "pull access denied"), buildah
 * ("reading manifest 1 in host/repo: unauthorized: ...") and BuildKit ("401 Unauthorized",
 * "authorization failed", "failed to authorize").
 */
const REFUSED =
  /no basic auth credentials|unauthorized|authentication required|pull access denied|authorization failed|failed to authorize|denied: requested access/i;

/**
 * BuildKit asks the client for credentials through the build's session when a registry wants them;
 * a build without a session fails resolving the image ("load metadata for <image>: ... no active sessions").
 */
const NO_SESSION = /load metadata for \S+.*no active sessions/i;

/** A RUN step's failure, as the classic builder, buildah and BuildKit report it. */
const STEP_FAILED =
  /returned a non-zero code|did not complete successfully|exit status \d|error building at STEP "RUN/i;

/** Where the refusing registry is named in such a message, most specific first. */
const REGISTRY_NAMED = [
  // An URL of the registry API: Head "http://127.0.0.1:5000/v2/team/base/manifests/1"
  /https?:\/\/([^/\s"']+)\/v2\//i,
  // buildah: docker://127.0.0.1:5000/team/base:1
  /docker:\/\/([^/\s"']+)\//i,
  // buildah: reading manifest 1 in 127.0.0.1:5000/team/base
  /manifest \S+ in ([^/\s"']+)\//i,
  // An image reference with a registry host: "127.0.0.1:5000/team/base:1", "ghcr.io/org/image"
  /(?:^|[\s"'[(])((?:[a-z0-9-]+\.)+[a-z0-9-]+(?::\d+)?|localhost(?::\d+)?|[a-z0-9-]+:\d+)\/[a-z0-9]/i,
];

/** The registry a refusal names; Docker Hub when the image names none ("pull access denied for team/base"). */
function refusingRegistry(message: string): string {
  for (const pattern of REGISTRY_NAMED) {
    const match = pattern.exec(message);
    if (match?.[1])
      return match[1] === 'registry-1.docker.io' || match[1] === 'index.docker.io' ? 'docker.io' : match[1];
  }
  return /pull access denied for [a-z0-9._/-]+[,:\s]/i.test(message) ? 'docker.io' : 'its registry';
}

/**
 * A build error that is a registry refusing a pull, as E_REGISTRY_UNAUTHORIZED naming the registry;
 * null for any other build error. `service` names the task.
 */
export function registryRefusal(service: string, message: string, logHint: string): SlipwayError | null {
  // A failing RUN step quotes its command, which may say anything.
  const sessionless = NO_SESSION.test(message);
  if ((!REFUSED.test(message) && !sessionless) || STEP_FAILED.test(message)) return null;
  const registry = refusingRegistry(message);
  if (sessionless) {
    return new SlipwayError(
      'E_REGISTRY_UNAUTHORIZED',
      `${service}: the registry ${registry} wants credentials, and BuildKit asks for them only through a build session, which this build did not open: ${message}`,
      { hint: `Build with the classic builder (--builder-version 1), which is sent them. ${logHint}` },
    );
  }
  return new SlipwayError(
    'E_REGISTRY_UNAUTHORIZED',
    `${service}: the registry ${registry} refused the image without valid credentials: ${message}`,
    {
      hint: `Slipway sends the credentials of the docker CLI's config.json ($DOCKER_CONFIG, else ~/.docker): log in with \`docker login ${registry === 'its registry' ? '<registry>' : registry}\`, or check the credentials it has there. ${logHint}`,
    },
  );
}
