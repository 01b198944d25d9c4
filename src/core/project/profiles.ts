import type { Plain } from './compose-yaml';

/**
 * The active profiles: those chosen explicitly (--profile, the window's toggles), else COMPOSE_PROFILES
 * (comma-separated, from the environment or .env), as docker compose takes them.
 */
export function activeProfiles(explicit: string[] | undefined, composeProfiles: string | undefined): string[] {
  const names = explicit ?? (composeProfiles ?? '').split(',');
  return [...new Set(names.map((name) => name.trim()).filter((name) => name !== ''))];
}

/** A service's profiles as written (`profiles:` is a list of names). */
export function serviceProfiles(definition: Plain): string[] {
  const profiles = definition.profiles;
  return Array.isArray(profiles) ? profiles.map(String) : [];
}

/** Services without profiles are always enabled; others when one of their profiles is active ("*": all). */
export function isServiceActive(definition: Plain, active: string[]): boolean {
  const profiles = serviceProfiles(definition);
  return profiles.length === 0 || active.includes('*') || profiles.some((profile) => active.includes(profile));
}
