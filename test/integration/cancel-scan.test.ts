import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuildSession } from '../../src/core/builds/session';
import { openProject } from '../../src/core/project/detect';
import type { SlipwayEvent } from '../../src/shared/contract';
import { type FakeFaultBuilder, startFakeFaultBuilder } from '../support/fake-fault-builder';
import { tempDir } from '../support/fixtures';

describe('cancel during packing', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let builder: FakeFaultBuilder;
  beforeAll(async () => {
    work = await tempDir('slipway-cancel-scan-');
    builder = await startFakeFaultBuilder('no-answer');
    const project = join(work.path, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'Dockerfile'), 'FROM scratch\n');
    // A scan of this many entries is far from done a moment after packing starts.
    for (let dir = 0; dir < 20; dir++) {
      mkdirSync(join(project, `d${dir}`));
      for (let file = 0; file < 400; file++) writeFileSync(join(project, `d${dir}`, `f${file}`), '');
    }
  });
  afterAll(async () => {
    await builder.close();
    await work.cleanup();
  });

  it('stops the scan rather than waiting for it to finish', async () => {
    const session = new BuildSession({
      dataDir: join(work.path, 'data'),
      project: await openProject(join(work.path, 'project')),
      endpoint: { region: 'local', url: builder.url },
    });
    // The upload to the region has started (beside the scan) when its region is announced.
    session.on('event', (event: SlipwayEvent) => {
      if (event.type === 'task.region') session.cancel();
    });
    const build = await session.run();
    expect(build.status).toBe('cancelled');
    // The scan's figures are recorded when it completes: a cancelled task that waited for it has them.
    expect(build.tasks[0]?.scan).toBeNull();
  });
});
