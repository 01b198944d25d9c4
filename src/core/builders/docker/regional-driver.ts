import type { Build } from '../../../shared/domain';
import type { BuilderDriver, BuildJob, JobContext, RecordParser, SendRequest } from '../driver';
import type { Connection } from '../endpoint';
import { allowsFailover } from '../http-errors';
import type { DockerDriver } from './driver';

/**
 * The Docker Engine API driver of a target whose regions may run different engines (Podman in one,
 * Docker with BuildKit in another): each attempt speaks to its engine with the builder that engine
 * gets. The first region's driver is known from the start; another region's is chosen from its
 * /_ping the first time a job fails over to it. The job's context is planned once, for the first
 * region's builder.
 */
export class RegionalDockerDriver implements BuilderDriver {
  readonly name: BuilderDriver['name'];
  readonly tagsImages = true;
  private readonly drivers = new Map<string, DockerDriver>();

  /** `choose` pings a region's engine and makes the driver it gets (see chooseDockerBuilder). */
  constructor(
    private readonly first: { region: string; driver: DockerDriver },
    private readonly choose: (connection: Connection, signal: AbortSignal) => Promise<DockerDriver>,
  ) {
    this.name = first.driver.name;
    this.drivers.set(first.region, first.driver);
  }

  jobs(build: Build): BuildJob[] {
    return this.first.driver.jobs(build);
  }

  check(job: BuildJob) {
    return this.first.driver.check(job);
  }

  context(job: BuildJob): Promise<JobContext> {
    return this.first.driver.context(job);
  }

  gzip(connection: Connection): boolean {
    return this.first.driver.gzip(connection);
  }

  /** The builder an attempt on this connection uses; a region whose engine does not answer keeps the first's. */
  async builderOn(connection: Connection, signal: AbortSignal): Promise<BuilderDriver['name']> {
    const region = connection.endpoint.region;
    if (!this.drivers.has(region)) {
      // An engine that does not answer now is not remembered: the attempt fails over past it anyway.
      const chosen = await this.choose(connection, AbortSignal.any([signal, AbortSignal.timeout(10_000)])).catch(
        () => null,
      );
      if (chosen) this.drivers.set(region, chosen);
    }
    return this.on(connection).name;
  }

  async send(job: BuildJob, connection: Connection, request: SendRequest) {
    const driver = this.on(connection);
    if (driver !== this.first.driver) {
      // What this builder cannot take stops the job here, as it would have before the first region.
      const [refusal] = driver.check(job).errors;
      if (refusal) throw refusal;
    }
    return driver.send(job, connection, request, this.first.driver);
  }

  parser(job: BuildJob, attempt: { connection: Connection; directory: string }): RecordParser {
    return this.on(attempt.connection).parser(job, attempt);
  }

  failover(error: unknown, started: boolean): boolean {
    return allowsFailover(error, started);
  }

  async close(): Promise<void> {
    await this.first.driver.close();
  }

  private on(connection: Connection): DockerDriver {
    return this.drivers.get(connection.endpoint.region) ?? this.first.driver;
  }
}
