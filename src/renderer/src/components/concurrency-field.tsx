/** The tasks a build runs at once, as the contract takes them. */
const MIN_CONCURRENCY = 1;
const MAX_CONCURRENCY = 16;

/** Tasks at once, as typed in the field: a whole number within the contract's bounds. */
function concurrencyFromField(text: string): number {
  return Math.min(MAX_CONCURRENCY, Math.max(MIN_CONCURRENCY, Math.trunc(Number(text)) || MIN_CONCURRENCY));
}

/** The "Tasks at once" field of the build options and of the settings' defaults. */
export function ConcurrencyField({ value, onChange }: { value: number; onChange: (concurrency: number) => void }) {
  return (
    <label>
      <span>Tasks at once</span>
      <input
        type="number"
        min={MIN_CONCURRENCY}
        max={MAX_CONCURRENCY}
        value={value}
        onChange={(event) => onChange(concurrencyFromField(event.target.value))}
      />
    </label>
  );
}
