import type { Dirent, Stats } from 'node:fs';
import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import tarFs from 'tar-fs';
import type { ContextScan } from '../../shared/domain';
import { SlipwayError } from '../../shared/errors';
import { IgnorePatterns, readIgnorePatterns } from '../project/ignore-patterns';
import { TAR_END_BYTES, tarEntryBytes } from './tar-size';

/** Decides, for a path relative to the project root ('/'-separated), whether balena leaves it out. */
export type BalenaIgnoreRule = (relativePath: string) => boolean;

/** Where the balena builder looks for the credentials of private base-image registries. */
export const REGISTRY_SECRETS_PATH = '.balena/registry-secrets.json';

/** Registry secrets are a few credentials; anything bigger is not what the user meant to send. */
const MAX_REGISTRY_SECRETS_BYTES = 1 << 20;

// What balena sends whatever the .dockerignore says: its own folder (.resin is its old name), every
// Dockerfile and the compose file; the builder cannot build without them.
const ALWAYS_SENT = /^(?:\.balena|\.resin)(?:\/|$)|(?:^|\/)(?:Dockerfile(?:\.[^/]*)?|docker-compose\.ya?ml)$/;
const GIT_FOLDER = /(?:^|\/)\.git(?:\/|$)/;

/**
 * balena's ignore rules over the whole project: the root .dockerignore (Docker's semantics) plus
 * `**\/.git`, with .balena/, Dockerfiles and docker-compose.yml always sent. Folders the rules leave
 * out are not walked, so an always-sent file inside an ignored folder is not sent either.
 */
export function balenaIgnoreRuleFromText(dockerignoreText: string): BalenaIgnoreRule {
  const patterns = new IgnorePatterns(readIgnorePatterns(dockerignoreText));
  return (relativePath) => {
    if (relativePath === '' || relativePath === '.') return false;
    if (GIT_FOLDER.test(relativePath)) return true;
    if (relativePath === '.dockerignore' || ALWAYS_SENT.test(relativePath)) return false;
    return patterns.matches(relativePath);
  };
}

/** Reads the project's root .dockerignore (none is fine) into balena's rule. */
export async function loadBalenaIgnoreRule(projectPath: string): Promise<BalenaIgnoreRule> {
  const path = join(projectPath, '.dockerignore');
  try {
    return balenaIgnoreRuleFromText(await readFile(path, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return balenaIgnoreRuleFromText('');
    throw new SlipwayError('E_CONTEXT_UNREADABLE', `Cannot read ${path}: ${code}`, { cause: error });
  }
}

function unreadable(path: string, error: unknown): SlipwayError {
  const code = (error as NodeJS.ErrnoException).code ?? 'error';
  return new SlipwayError('E_CONTEXT_UNREADABLE', `Cannot read ${path}: ${code}`, {
    hint: 'Fix its permissions, or leave it out with a line in .dockerignore.',
    cause: error,
  });
}

/**
 * Walks the project as tar-fs will pack it (lstat, links never followed, left-out folders not entered)
 * to count files and bytes and the exact tar size. Holds one folder listing at a time per depth.
 */
export async function scanBalenaProject(root: string, ignore: BalenaIgnoreRule): Promise<ContextScan> {
  const scan: ContextScan = { files: 0, bytes: 0, tarBytes: TAR_END_BYTES, skipped: [] };
  const stack: string[] = ['.'];
  while (stack.length > 0) {
    const path = stack.pop() as string;
    const absolute = join(root, path);
    let stats: Stats;
    try {
      stats = await lstat(absolute);
    } catch (error) {
      throw unreadable(absolute, error);
    }
    if (stats.isFile()) {
      scan.files += 1;
      scan.bytes += stats.size;
      scan.tarBytes += tarEntryBytes(path, stats.size);
    } else if (stats.isSymbolicLink()) {
      const linkname = await readlink(absolute).catch((error: unknown) => Promise.reject(unreadable(absolute, error)));
      scan.tarBytes += tarEntryBytes(path, 0, linkname);
    } else if (stats.isDirectory()) {
      scan.tarBytes += tarEntryBytes(path, 0);
      let children: Dirent[];
      try {
        children = await readdir(absolute, { withFileTypes: true });
      } catch (error) {
        throw unreadable(absolute, error);
      }
      for (const child of children) {
        const childPath = path === '.' ? child.name : `${path}/${child.name}`;
        if (!ignore(childPath)) stack.push(childPath);
      }
    } else {
      scan.skipped.push({
        path,
        reason: stats.isFIFO() ? 'FIFO' : stats.isSocket() ? 'socket' : 'special file',
      });
    }
  }
  return scan;
}

/** A balena project ready to pack: its rule, its exact tar size, and the registry secrets to add. */
export interface BalenaPackPlan {
  root: string;
  ignore: BalenaIgnoreRule;
  scan: ContextScan;
  /** The registry secrets file's bytes, added as .balena/registry-secrets.json; null for none. */
  registrySecrets: Buffer | null;
}

/** Reads a registry secrets file (JSON, small) the user named. */
async function readRegistrySecrets(path: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    const size = (await stat(path)).size;
    if (size > MAX_REGISTRY_SECRETS_BYTES) {
      throw new SlipwayError(
        'E_BAD_INPUT',
        `The registry secrets file ${path} is ${size} bytes; at most 1 MiB is sent`,
      );
    }
    bytes = await readFile(path);
  } catch (error) {
    if (error instanceof SlipwayError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new SlipwayError('E_BAD_INPUT', `Cannot read the registry secrets file ${path}: ${code}`, { cause: error });
  }
  try {
    JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new SlipwayError('E_BAD_INPUT', `The registry secrets file ${path} is not JSON`, {
      hint: 'It holds {"registry.example.com": {"username": "...", "password": "..."}}.',
    });
  }
  return bytes;
}

/** Scans the whole project with balena's rules; the exact tar size includes the registry secrets. */
export async function planBalenaPack(
  projectPath: string,
  options: { registrySecretsFile?: string | null; dataDir?: string | null } = {},
): Promise<BalenaPackPlan> {
  const rule = await loadBalenaIgnoreRule(projectPath);
  const registrySecrets = options.registrySecretsFile ? await readRegistrySecrets(options.registrySecretsFile) : null;
  // Slipway's own data folder, when it lies inside the project, grows while the project is packed.
  const inside = options.dataDir ? relative(projectPath, options.dataDir).split(sep).join('/') : '';
  const dataFolder = inside && !inside.startsWith('..') && !isAbsolute(inside) ? inside : null;
  // The secrets given replace a file of that name in the project.
  const ignore: BalenaIgnoreRule = (relativePath) =>
    (registrySecrets !== null && relativePath === REGISTRY_SECRETS_PATH) ||
    (dataFolder !== null && (relativePath === dataFolder || relativePath.startsWith(`${dataFolder}/`))) ||
    rule(relativePath);
  const scan = await scanBalenaProject(projectPath, ignore);
  if (registrySecrets) {
    scan.files += 1;
    scan.bytes += registrySecrets.length;
    scan.tarBytes += tarEntryBytes(REGISTRY_SECRETS_PATH, registrySecrets.length);
  }
  return { root: projectPath, ignore, scan, registrySecrets };
}

/** Packs the project as planned: tar-fs over the walk, the registry secrets appended before the end. */
export function packBalenaProject(plan: BalenaPackPlan): Readable {
  const { root, ignore, registrySecrets } = plan;
  return tarFs.pack(root, {
    ignore: (absolute) => ignore(relative(root, absolute).split(sep).join('/')),
    strict: false,
    finalize: registrySecrets === null,
    finish: (pack) => {
      if (registrySecrets === null) return;
      pack.entry({ name: REGISTRY_SECRETS_PATH, size: registrySecrets.length, mode: 0o600 }, registrySecrets);
      pack.finalize();
    },
  }) as unknown as Readable;
}
