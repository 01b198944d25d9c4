import { readFile } from 'node:fs/promises';
import { type GrpcCall, GrpcError, GrpcStatus } from './grpc';
import { decodeSecretRequest, encodeBytesMessage } from './messages';

/** A build secret as `--secret` or compose's `secrets` name it: read from a file or a variable when BuildKit asks. */
export interface SecretSource {
  id: string;
  file?: string;
  env?: string;
}

/** BuildKit refuses a secret bigger than 500 KiB; one this big is read no further. */
const MAX_SECRET_BYTES = 500 * 1024;

/**
 * moby.buildkit.secrets.v1.Secrets/GetSecret: the secret's bytes, read now, never logged or kept.
 * An unknown id is NotFound, which BuildKit reports as "secret not found" (or skips, for a mount
 * marked not required).
 */
export async function serveSecret(call: GrpcCall, sources: SecretSource[]): Promise<void> {
  const { id } = decodeSecretRequest(await call.single());
  const source = sources.find((candidate) => candidate.id === id);
  if (!source) throw new GrpcError(GrpcStatus.notFound, `secret ${id} not found`);
  let data: Buffer;
  if (source.env !== undefined) {
    const value = process.env[source.env];
    if (value === undefined)
      throw new GrpcError(GrpcStatus.notFound, `secret ${id}: the variable ${source.env} is not set`);
    data = Buffer.from(value);
  } else {
    try {
      data = await readFile(source.file as string);
    } catch (error) {
      throw new GrpcError(
        GrpcStatus.notFound,
        `secret ${id}: cannot read ${source.file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
  }
  if (data.length > MAX_SECRET_BYTES) throw new GrpcError(GrpcStatus.invalidArgument, `secret ${id} is over 500 KiB`);
  await call.send(encodeBytesMessage(data));
  call.end();
}
