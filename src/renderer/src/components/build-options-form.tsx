import { concurrencyFromField } from '../format';
import { setOptions, useStore } from '../store/store';
import './build-options-form.css';

/** Tag, no-cache, build args and concurrency of the next build. */
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
        <span>Tasks at once</span>
        <input
          type="number"
          min={1}
          max={16}
          value={options.concurrency}
          onChange={(event) => setOptions({ concurrency: concurrencyFromField(event.target.value) })}
        />
      </label>
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
