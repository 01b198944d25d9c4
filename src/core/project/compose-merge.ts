import { isPlain, OverrideValue, type Plain, ResetValue } from './compose-yaml';

/**
 * Attributes that are "KEY=VALUE" lists or mappings: both forms are merged as mappings, key by key
 * (as compose-go does), so `args: [A=1]` and `args: {A: 2}` give A=2.
 */
const KEY_VALUE_PATHS = [
  'services.*.build.args',
  'services.*.build.labels',
  'services.*.build.additional_contexts',
  'services.*.build.extra_hosts',
  'services.*.environment',
  'services.*.labels',
  'services.*.annotations',
  'services.*.sysctls',
  'services.*.extra_hosts',
];

/** Shell commands: the later file's value replaces the earlier one (merge.md, "Shell commands"). */
const REPLACED_PATHS = ['services.*.command', 'services.*.entrypoint', 'services.*.healthcheck.test'];

/** Unique resources: entries sharing a key are merged, others appended (merge.md, "Unique resources"). */
const UNIQUE_PATHS: Record<string, (entry: unknown) => string> = {
  'services.*.volumes': (entry) => (isPlain(entry) ? String(entry.target) : mountTarget(String(entry))),
  'services.*.secrets': (entry) => (isPlain(entry) ? String(entry.target ?? entry.source) : String(entry)),
  'services.*.configs': (entry) => (isPlain(entry) ? String(entry.target ?? entry.source) : String(entry)),
  'services.*.ports': (entry) => JSON.stringify(entry),
};

/** The container path of a short-syntax volume `source:target[:mode]`, or the whole text for `target`. */
function mountTarget(text: string): string {
  const parts = text.split(':');
  return parts.length >= 2 ? (parts[1] as string) : text;
}

function matches(pattern: string, path: string[]): boolean {
  const parts = pattern.split('.');
  return parts.length === path.length && parts.every((part, index) => part === '*' || part === path[index]);
}

/** Splits a "KEY=VALUE" list item; a bare KEY has a null value. extra_hosts also take `host:ip`. */
function splitItem(item: string, hosts: boolean): [string, string | null] {
  const equals = item.indexOf('=');
  if (equals !== -1) return [item.slice(0, equals), item.slice(equals + 1)];
  if (hosts) {
    const colon = item.indexOf(':');
    if (colon !== -1) return [item.slice(0, colon), item.slice(colon + 1)];
  }
  return [item, null];
}

/** A KEY=VALUE list as a mapping; a mapping as it is; anything else unchanged (validated later). */
export function keyValueMap(value: unknown, hosts = false): unknown {
  if (!Array.isArray(value)) return value;
  const map: Plain = {};
  for (const item of value) {
    if (typeof item !== 'string' && typeof item !== 'number') return value;
    const [key, raw] = splitItem(String(item), hosts);
    map[key] = raw;
  }
  return map;
}

/** A value with its tags applied as a lone file would be read: `!reset` entries gone, `!override` unwrapped. */
export function withoutTags(value: unknown): unknown {
  if (value instanceof OverrideValue) return withoutTags(value.value);
  if (Array.isArray(value)) return value.filter((item) => !(item instanceof ResetValue)).map(withoutTags);
  if (isPlain(value)) {
    const result: Plain = {};
    for (const [key, item] of Object.entries(value)) if (!(item instanceof ResetValue)) result[key] = withoutTags(item);
    return result;
  }
  return value;
}

/**
 * Merges an overriding compose value into a base one by the rules of the Compose specification's
 * merge.md: mappings merge key by key, sequences append (unique resources by their key, shell commands
 * replaced), `!reset` removes, `!override` replaces. `path` is the attribute's place ("services", name...).
 * Returns undefined when the attribute is removed.
 */
export function mergeValues(base: unknown, over: unknown, path: string[] = []): unknown {
  if (over instanceof ResetValue) return undefined;
  if (over instanceof OverrideValue) return withoutTags(over.value);
  if (base === undefined || base === null) return withoutTags(over);
  if (over === undefined) return base;
  if (matches('services.*.build', path) && (typeof base === 'string' || typeof over === 'string')) {
    return mergeValues(buildMap(base), buildMap(over), path);
  }
  if (REPLACED_PATHS.some((pattern) => matches(pattern, path))) return withoutTags(over);
  if (KEY_VALUE_PATHS.some((pattern) => matches(pattern, path))) {
    const hosts = path[path.length - 1] === 'extra_hosts';
    const left = keyValueMap(base, hosts);
    const right = keyValueMap(over, hosts);
    if (isPlain(left) && isPlain(right)) return mergeMaps(left, right, path);
  }
  if (isPlain(base) && isPlain(over)) return mergeMaps(base, over, path);
  if (Array.isArray(base) && Array.isArray(over)) {
    const unique = Object.entries(UNIQUE_PATHS).find(([pattern]) => matches(pattern, path))?.[1];
    const added = withoutTags(over) as unknown[];
    if (unique) {
      const keys = new Set(added.map(unique));
      return [...base.filter((entry) => !keys.has(unique(entry))), ...added];
    }
    const result = [...base];
    for (const item of added) {
      if (typeof item === 'object' || !result.includes(item)) result.push(item);
    }
    return result;
  }
  return withoutTags(over);
}

function buildMap(value: unknown): unknown {
  return typeof value === 'string' ? { context: value } : value;
}

function mergeMaps(base: Plain, over: Plain, path: string[]): Plain {
  const result: Plain = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const merged = mergeValues(base[key], value, [...path, key]);
    if (merged === undefined) delete result[key];
    else result[key] = merged;
  }
  return result;
}
