import { BALENA_BUILD_LOG_ID, DEFAULT_BALENA_BUILDER_URL } from '../../core/builders/balena-names';

/** The usage of `slipway build --balena`, apart so that `slipway build` need not load the balena code. */
export const balenaUsage = `slipway build <dir> --balena ORG/FLEET [--builder REGION=URL ...] [--detached] [options]

  Pushes the whole project to the balena builder, as "balena push" does, and spools each service's
  log apart ("slipway logs <build-id> --task <service>") and the builder's own output as task ${BALENA_BUILD_LOG_ID}.
  The API token comes from BALENA_TOKEN, or from --token-file (default ~/.balena/token, mode 0600).
  --builder REGION=URL   a builder per region, tried in order (default ${DEFAULT_BALENA_BUILDER_URL})
  --detached             return once the builder has started the release; it builds on without us
  --dockerfile PATH      the Dockerfile of a project without a compose file
  --emulated             build under emulation on an x86 builder
  --no-cache             build without the builder's cache
  --draft                make a draft release
  --registry-secrets F   a JSON file of registry credentials, sent as .balena/registry-secrets.json
  --token-file F         read the token from F (mode 0600) instead of BALENA_TOKEN
  --api URL              the balena API that cancels releases (default: beside the builder)
  --json                 print one JSON event per line
  --data-dir DIR         where logs and history live`;
