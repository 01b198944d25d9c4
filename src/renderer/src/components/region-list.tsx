import { formatDuration } from '../format';
import { pinRegion, probeRegions, useStore } from '../store/store';
import './region-list.css';

/** Every region's latency, the chosen one with the reason, and a way to pin one. */
export function RegionList() {
  const probe = useStore((state) => state.probe);
  const probing = useStore((state) => state.probing);
  const failure = useStore((state) => state.probeFailure);
  const pinned = useStore((state) => state.settings?.pinnedRegion ?? null);
  return (
    <div className="region-list">
      <div className="region-list-head">
        <h2>Regions</h2>
        <button type="button" onClick={() => void probeRegions()} disabled={probing}>
          {probing ? 'Probing…' : 'Probe again'}
        </button>
      </div>
      {failure && !probe ? (
        <p className="calm-note">
          Latencies are not known: {failure.code}: {failure.message}. Builds go to the configured builder.
        </p>
      ) : null}
      {probe ? (
        <>
          <ul>
            {probe.probes.map((region) => {
              const chosen = region.region === probe.chosen;
              return (
                <li key={`${region.region}-${region.url}`} className={chosen ? 'chosen' : ''} data-testid="region">
                  <span className="region-name">
                    {chosen ? '● ' : ''}
                    {region.region}
                  </span>
                  <span className="mono muted region-url">{region.url}</span>
                  <span className="numeric">
                    {region.medianMs === null ? (
                      <span className="region-error">{region.error ? region.error.code : 'no answer'}</span>
                    ) : (
                      <>
                        {formatDuration(region.medianMs)}
                        {region.spreadMs !== null ? (
                          <span className="muted"> ±{Math.round(region.spreadMs)}</span>
                        ) : null}
                        {region.handshakeMs !== null ? (
                          <span className="muted" title="Connect (and TLS) time of the first request, apart">
                            {' '}
                            · connect {formatDuration(region.handshakeMs)}
                          </span>
                        ) : null}
                      </>
                    )}
                  </span>
                  <button
                    type="button"
                    className={pinned === region.region ? 'pinned' : ''}
                    onClick={() => void pinRegion(pinned === region.region ? null : region.region)}
                  >
                    {pinned === region.region ? 'Unpin' : 'Pin'}
                  </button>
                </li>
              );
            })}
          </ul>
          <p className="region-reason" data-testid="region-reason">
            {pinned ? (
              <>
                Pinned to <strong>{pinned}</strong>.
              </>
            ) : probe.chosen ? (
              <>
                Chosen: <strong>{probe.chosen}</strong> — {probe.reason}
              </>
            ) : (
              <>No region answered: {probe.reason}</>
            )}
          </p>
        </>
      ) : null}
    </div>
  );
}
