import { buildProgress } from '../../shared/build-progress';
import type { SlipwayEvent } from '../../shared/contract';
import type { Build, BuildStatus } from '../../shared/domain';

/** What a shell shows of the running builds: their progress, and each build's end once. */
export interface BuildWatchListener {
  /** The running builds' progress from 0 to 1, or null when none runs. */
  progress(fraction: number | null): void;
  /** A build ended. */
  finished(build: Build, status: BuildStatus): void;
}

/**
 * Follows the engine's events to know the running builds' progress and their ends, for a shell's
 * taskbar and notifications (the window follows them itself).
 */
export class BuildWatch {
  private readonly running = new Map<string, Build>();

  constructor(private readonly listener: BuildWatchListener) {}

  onEvent(event: SlipwayEvent): void {
    if (event.type === 'build.started') {
      this.running.set(event.build.id, structuredClone(event.build));
      this.report();
    } else if (event.type === 'task.state') {
      const task = this.running.get(event.buildId)?.tasks.find((candidate) => candidate.task.id === event.taskId);
      if (!task) return;
      task.state = event.state;
      this.report();
    } else if (event.type === 'build.finished') {
      const build = this.running.get(event.buildId);
      if (!build) return;
      this.running.delete(event.buildId);
      this.report();
      this.listener.finished(build, event.status);
    }
  }

  private report(): void {
    const builds = [...this.running.values()];
    if (builds.length === 0) {
      this.listener.progress(null);
      return;
    }
    const total = builds.reduce((sum, build) => sum + buildProgress(build), 0);
    this.listener.progress(total / builds.length);
  }
}
