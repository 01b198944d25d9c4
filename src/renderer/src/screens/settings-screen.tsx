import { useEffect, useState } from 'react';
import type { BuilderTarget, Settings } from '../../../shared/domain';
import { ConcurrencyField } from '../components/concurrency-field';
import { RegistryList } from '../components/registry-list';
import { TokenField } from '../components/token-field';
import { formatBytes } from '../format';
import { type Failure, repairSettings, saveSettings, useStore } from '../store/store';
import './settings-screen.css';

const MIB = 1024 * 1024;

function blankTarget(count: number): BuilderTarget {
  return {
    name: `builder-${count + 1}`,
    kind: 'docker',
    endpoints: [{ region: 'local', url: 'unix:///var/run/docker.sock' }],
  };
}

/** Builder targets with their regional endpoints, defaults, and where (and how much) Slipway keeps. */
export function SettingsScreen() {
  const saved = useStore((state) => state.settings);
  const info = useStore((state) => state.info);
  const unusable = useStore((state) => state.settingsFailure);
  const [draft, setDraft] = useState<Settings | null>(saved);
  useEffect(() => setDraft(saved), [saved]);
  if (unusable) return <SettingsRepairNotice failure={unusable} />;
  if (!draft) return <p className="muted">Loading the settings…</p>;

  const setTarget = (index: number, change: (target: BuilderTarget) => BuilderTarget) =>
    setDraft({ ...draft, targets: draft.targets.map((target, i) => (i === index ? change(target) : target)) });

  const save = () =>
    void saveSettings({
      targets: draft.targets,
      defaultTarget: draft.defaultTarget,
      concurrency: draft.concurrency,
      compress: draft.compress,
      quota: draft.quota,
    });

  return (
    <div className="settings-screen">
      <header className="settings-head">
        <h1>Settings</h1>
        <button type="button" className="primary" onClick={save}>
          Save
        </button>
      </header>
      <section className="card">
        <h2>Builder targets</h2>
        {draft.targets.length === 0 ? (
          <p className="muted">
            No targets: builds go to the local engine Slipway finds (DOCKER_HOST, then the usual sockets).
          </p>
        ) : null}
        {draft.targets.map((target, index) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: names are being edited here, so only the position is stable.
          <fieldset key={index} className="settings-target">
            <legend>
              <input
                aria-label="Target name"
                value={target.name}
                onChange={(event) => setTarget(index, (t) => ({ ...t, name: event.target.value }))}
              />
              <select
                aria-label="Builder kind"
                value={target.kind}
                onChange={(event) =>
                  setTarget(index, (t) => ({ ...t, kind: event.target.value as BuilderTarget['kind'] }))
                }
              >
                <option value="docker">Docker Engine API</option>
                <option value="balena">balena builder</option>
              </select>
              <label className="settings-inline">
                <input
                  type="radio"
                  name="default-target"
                  checked={draft.defaultTarget === target.name}
                  onChange={() => setDraft({ ...draft, defaultTarget: target.name })}
                />
                default
              </label>
              <button
                type="button"
                onClick={() => setDraft({ ...draft, targets: draft.targets.filter((_, i) => i !== index) })}
              >
                Remove
              </button>
            </legend>
            {target.kind === 'balena' ? (
              <>
                <label className="settings-field">
                  <span>Fleet</span>
                  <input
                    value={target.fleet ?? ''}
                    placeholder="org/fleet"
                    onChange={(event) => setTarget(index, (t) => ({ ...t, fleet: event.target.value }))}
                  />
                </label>
                <TokenField target={target.name} />
              </>
            ) : (
              <label className="settings-field">
                <span>Builder</span>
                <select
                  aria-label="Builder version"
                  value={target.builderVersion ?? 'auto'}
                  onChange={(event) =>
                    setTarget(index, (t) => ({
                      ...t,
                      builderVersion: event.target.value as NonNullable<BuilderTarget['builderVersion']>,
                    }))
                  }
                >
                  <option value="auto">auto (BuildKit on Docker Engine; Podman builds with buildah)</option>
                  <option value="2">BuildKit (version 2)</option>
                  <option value="1">classic (version 1)</option>
                </select>
              </label>
            )}
            {target.endpoints.map((endpoint, e) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: regions are being edited here, so only the position is stable.
              <div key={e} className="settings-endpoint">
                <input
                  aria-label="Region"
                  value={endpoint.region}
                  onChange={(event) =>
                    setTarget(index, (t) => ({
                      ...t,
                      endpoints: t.endpoints.map((x, i) => (i === e ? { ...x, region: event.target.value } : x)),
                    }))
                  }
                />
                <input
                  aria-label="Endpoint URL"
                  className="mono"
                  value={endpoint.url}
                  onChange={(event) =>
                    setTarget(index, (t) => ({
                      ...t,
                      endpoints: t.endpoints.map((x, i) => (i === e ? { ...x, url: event.target.value } : x)),
                    }))
                  }
                />
                <button
                  type="button"
                  disabled={target.endpoints.length === 1}
                  onClick={() => setTarget(index, (t) => ({ ...t, endpoints: t.endpoints.filter((_, i) => i !== e) }))}
                >
                  Remove
                </button>
              </div>
            ))}
            <button
              type="button"
              onClick={() =>
                setTarget(index, (t) => ({
                  ...t,
                  endpoints: [...t.endpoints, { region: `region-${t.endpoints.length + 1}`, url: '' }],
                }))
              }
            >
              Add a region
            </button>
          </fieldset>
        ))}
        <button
          type="button"
          onClick={() => setDraft({ ...draft, targets: [...draft.targets, blankTarget(draft.targets.length)] })}
        >
          Add a target
        </button>
      </section>
      <section className="card">
        <h2>Registry credentials</h2>
        <RegistryList />
      </section>
      <section className="card settings-grid">
        <h2>Defaults</h2>
        <ConcurrencyField value={draft.concurrency} onChange={(concurrency) => setDraft({ ...draft, concurrency })} />
        <label>
          <span>Compress uploads</span>
          <select
            value={draft.compress}
            onChange={(event) => setDraft({ ...draft, compress: event.target.value as Settings['compress'] })}
          >
            <option value="auto">Automatic (on for remote builders, off for local ones)</option>
            <option value="always">Always</option>
            <option value="never">Never</option>
          </select>
        </label>
        <p className="muted">
          Pinned region: <strong>{draft.pinnedRegion ?? 'none (the fastest answers)'}</strong>
        </p>
      </section>
      <section className="card settings-grid">
        <h2>Data</h2>
        <p>
          Logs and history live in <span className="mono">{info?.dataDir ?? '…'}</span>
        </p>
        <label>
          <span>Keep at most (builds)</span>
          <input
            type="number"
            min={1}
            max={10000}
            value={draft.quota.maxBuilds}
            onChange={(event) =>
              setDraft({ ...draft, quota: { ...draft.quota, maxBuilds: Math.max(1, Number(event.target.value) || 1) } })
            }
          />
        </label>
        <label>
          <span>and at most (MiB) — now {formatBytes(draft.quota.maxBytes)}</span>
          <input
            type="number"
            min={1}
            value={Math.round(draft.quota.maxBytes / MIB)}
            onChange={(event) =>
              setDraft({
                ...draft,
                quota: { ...draft.quota, maxBytes: Math.max(1, Number(event.target.value) || 1) * MIB },
              })
            }
          />
        </label>
      </section>
    </div>
  );
}

/** Settings that cannot be read: what is wrong, and a repair that keeps the old file beside the new one. */
function SettingsRepairNotice({ failure }: { failure: Failure }) {
  const repairable = failure.code === 'E_SETTINGS_INVALID';
  return (
    <div className="settings-screen">
      <header className="settings-head">
        <h1>Settings</h1>
      </header>
      <section className="card settings-repair" role="alert" data-testid="settings-repair">
        <h2>The settings cannot be used</h2>
        <p>
          <code>{failure.code}</code> {failure.message}
        </p>
        {repairable ? (
          <>
            <p className="muted">
              Nothing is built or deleted until this is fixed. Repair puts the file aside
              (settings.json.bad-&lt;time&gt;, beside it) and starts again from the defaults.
            </p>
            <button type="button" className="primary" onClick={() => void repairSettings()}>
              Repair
            </button>
          </>
        ) : null}
      </section>
    </div>
  );
}
