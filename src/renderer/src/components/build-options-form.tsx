import { setOptions, useStore } from '../store/store';
import './build-options-form.css';
import { ConcurrencyField } from './concurrency-field';

/** Tag, no-cache, network, build args and concurrency of the next build. */
export function BuildOptionsForm() {
  const options = useStore((state) => state.options);
  return (
    <div className="build-options">
      <h2>Build options</h2>
      <label>
        <span>Tag</span>
        <input
          value={options.tag}
          placeholder="name:version (each service gets -service)"
          onChange={(event) => setOptions({ tag: event.target.value })}
        />
      </label>
      <label className="build-options-inline">
        <input
          type="checkbox"
          checked={options.noCache}
          onChange={(event) => setOptions({ noCache: event.target.checked })}
        />
        <span>No cache</span>
      </label>
      <label>
        <span>Network</span>
        <input
          value={options.network}
          placeholder="engine default (none, host, a network)"
          onChange={(event) => setOptions({ network: event.target.value })}
        />
      </label>
      <ConcurrencyField value={options.concurrency} onChange={(concurrency) => setOptions({ concurrency })} />
      <label>
        <span>Build args</span>
        <textarea
          rows={3}
          value={options.buildArgs}
          placeholder={'KEY=value\nOTHER=value'}
          spellCheck={false}
          onChange={(event) => setOptions({ buildArgs: event.target.value })}
        />
      </label>
    </div>
  );
}
