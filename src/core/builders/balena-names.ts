/** balenaCloud's builder; a region's builder is given as REGION=URL. */
export const DEFAULT_BALENA_BUILDER_URL = 'https://builder.balena-cloud.com';

/** The build's own log (the builder's [Info], [Success], [Warn], [Error] output), beside the tasks' logs. */
export const BALENA_BUILD_LOG_ID = '_build';
