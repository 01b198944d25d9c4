import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Build } from '../../shared/domain';

/** The folder that holds every build's metadata and logs. */
export function buildsDir(dataDir: string): string {
  return join(dataDir, 'builds');
}

export function buildDir(dataDir: string, buildId: string): string {
  return join(buildsDir(dataDir), buildId);
}

/** A build id that sorts by start time: 20261126-114501-3f9a2c. */
export function newBuildId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** Writes build.json atomically: a temp file beside it, then a rename. Writes of one build are serialized. */
export class BuildRecordWriter {
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly directory: string) {}

  save(build: Build): Promise<void> {
    const text = `${JSON.stringify(build, null, 2)}\n`;
    this.chain = this.chain.then(async () => {
      await mkdir(this.directory, { recursive: true });
      const temporary = join(this.directory, `.build.json.${process.pid}.tmp`);
      await writeFile(temporary, text);
      await rename(temporary, join(this.directory, 'build.json'));
    });
    return this.chain;
  }
}

export async function readBuild(dataDir: string, buildId: string): Promise<Build> {
  return JSON.parse(await readFile(join(buildDir(dataDir, buildId), 'build.json'), 'utf8')) as Build;
}
