import type { GrpcCall } from './grpc';
import { decodeStringField, encodeCredentials } from './messages';

/** Registry credentials as the registry-auth module gives them (src/core/builders/registry-auth). */
export interface RegistryCredentials {
  username: string;
  secret: string;
  identityToken?: boolean;
}

/** Who answers BuildKit's Auth/Credentials: the registries with credentials, and a lookup by host. */
export interface AuthSource {
  registries(): string[];
  lookup(host: string): Promise<RegistryCredentials | null>;
}

/** No registry has credentials: BuildKit pulls anonymously. */
export const noRegistryAuth: AuthSource = { registries: () => [], lookup: async () => null };

/**
 * moby.filesync.v1.Auth/Credentials: the username and secret for a registry host, or empty ones (an
 * anonymous pull), as the docker CLI answers. An identity token goes as the secret with no username.
 */
export async function serveCredentials(call: GrpcCall, auth: AuthSource): Promise<void> {
  const host = decodeStringField(await call.single());
  const found = await auth.lookup(host);
  const username = found && !found.identityToken ? found.username : '';
  await call.send(encodeCredentials(username, found?.secret ?? ''));
  call.end();
}
