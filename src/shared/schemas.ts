/**
 * Schemas of what Slipway keeps on disk and reads back (settings.json, build.json, owner.json, the
 * steps file), and the pieces the contract's request schemas share with them. A file that does not
 * match is reported with the path of the first fields that are wrong, never used as it is.
 */
import { z } from 'zod';
import { boundMessage, bounds, type NumberBound } from './numbers';

/** A whole number within a bound, with the shared parser's message when it is not. */
export function wholeNumber(bound: NumberBound) {
  const error = (issue: { input?: unknown }) => boundMessage(bound, issue.input);
  return z.number({ error }).int({ error }).min(bound.min, { error }).max(bound.max, { error });
}

export const endpointSchema = z.object({
  region: z.string().min(1).max(64),
  url: z.string().min(1).max(2048),
  tls: z
    .object({
      ca: z.string().optional(),
      cert: z.string().optional(),
      key: z.string().optional(),
      verify: z.boolean().optional(),
    })
    .optional(),
});

export const targetSchema = z.object({
  name: z.string().min(1).max(64),
  kind: z.enum(['docker', 'balena']),
  endpoints: z.array(endpointSchema).min(1).max(16),
  fleet: z.string().max(200).optional(),
  builderVersion: z.enum(['1', '2', 'auto']).optional(),
  balena: z
    .object({
      dockerfilePath: z.string().max(4096).optional(),
      emulated: z.boolean().optional(),
      draft: z.boolean().optional(),
    })
    .optional(),
});

export const quotaSchema = z.object({
  maxBuilds: wholeNumber(bounds.maxBuilds),
  maxBytes: wholeNumber(bounds.maxBytes),
});

/** Settings as a whole, as settings.update leaves them. */
export const settingsSchema = z.object({
  targets: z.array(targetSchema).max(32),
  defaultTarget: z.string().max(64).nullable(),
  pinnedRegion: z.string().max(64).nullable(),
  concurrency: wholeNumber(bounds.concurrency),
  compress: z.enum(['auto', 'always', 'never']),
  quota: quotaSchema,
});

/**
 * settings.json as read back: a field it lacks (an older version wrote it) takes its default, a field
 * it has must be valid. Unknown fields are dropped.
 */
export const settingsFileSchema = settingsSchema.extend({ quota: quotaSchema.partial() }).partial();

const count = z.number().int().min(0);
const time = z.string().refine((text) => !Number.isNaN(Date.parse(text)), { error: 'is not a time' });
const errorInfoSchema = z.looseObject({
  code: z.string().regex(/^E_[A-Z_]+$/),
  message: z.string(),
  hint: z.string().optional(),
});

const taskStateSchema = z.discriminatedUnion('phase', [
  z.looseObject({ phase: z.literal('queued') }),
  z.looseObject({ phase: z.literal('packing'), files: count, bytes: count, bytesSent: count.optional() }),
  z.looseObject({
    phase: z.literal('uploading'),
    bytesSent: count,
    bytesTotal: count,
    bytesPerSecond: z.number().min(0),
    compressedBytesSent: count.optional(),
  }),
  z.looseObject({ phase: z.literal('building'), step: count, steps: count, bytesSent: count.optional() }),
  z.looseObject({
    phase: z.literal('done'),
    imageId: z.string().nullable(),
    durationMs: z.number().min(0),
    bytesSent: count.optional(),
  }),
  z.looseObject({ phase: z.literal('failed'), error: errorInfoSchema, durationMs: z.number().min(0) }),
  z.looseObject({ phase: z.literal('cancelled'), durationMs: z.number().min(0) }),
]);

/** A build or task id names a folder or a file: a plain name only. */
export const plainIdSchema = z.string().regex(/^[\w][\w.-]*$/, { error: 'is not a plain name' });

const buildTaskSchema = z.looseObject({
  task: z.looseObject({
    id: plainIdSchema,
    service: z.string(),
    contextPath: z.string(),
    dockerfile: z.string(),
    buildArgs: z.record(z.string(), z.string()).optional(),
  }),
  state: taskStateSchema,
  tag: z.string().nullable(),
  scan: z
    .looseObject({ files: count, bytes: count, tarBytes: count, skipped: z.array(z.looseObject({ path: z.string() })) })
    .nullable(),
  logLines: count,
  region: z.string().optional(),
  startedAt: time.nullable().optional(),
  finishedAt: time.nullable().optional(),
});

/** build.json. Fields a newer version adds are kept (loose objects), so rewriting the record keeps them. */
export const buildRecordSchema = z.looseObject({
  id: plainIdSchema,
  projectPath: z.string(),
  target: z.looseObject({
    name: z.string(),
    kind: z.enum(['docker', 'balena']),
    endpoints: z.array(z.looseObject({ region: z.string(), url: z.string() })),
  }),
  region: z.string(),
  reason: z.string(),
  startedAt: time,
  finishedAt: time.nullable(),
  status: z.enum(['running', 'succeeded', 'failed', 'cancelled', 'interrupted']),
  tasks: z.array(buildTaskSchema),
  error: errorInfoSchema.nullable(),
  releaseId: z.string().nullable().optional(),
  logId: plainIdSchema.optional(),
});

/** owner.json: the process that runs a build. */
export const buildOwnerSchema = z.object({ pid: z.number().int().min(1), host: z.string() });

/** One record of a task's steps file. */
export const stepRecordSchema = z.union([
  z.object({ step: count, steps: count, line: count, atMs: z.number(), text: z.string() }),
  z.object({
    vertex: z.string(),
    name: z.string(),
    line: count,
    startedMs: z.number().nullable(),
    completedMs: z.number().nullable(),
    cached: z.boolean(),
    error: z.boolean(),
  }),
  z.object({ endedAtMs: z.number(), lines: count }),
]);

/** The first problems of a value that failed its schema, as "path: what is wrong" (at most three). */
export function describeProblems(error: z.ZodError): string {
  const problems = error.issues.slice(0, 3).map((issue) => {
    const path = issue.path.map(String).join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  const more = error.issues.length > 3 ? ` (and ${error.issues.length - 3} more)` : '';
  return `${problems.join('; ')}${more}`;
}
