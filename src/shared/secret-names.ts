import type { Project } from './domain';

/** Names whose values are credentials by convention: shown masked, never printed whole. */
const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|KEY|CREDENTIAL/i;

/** The mask shown in place of a secret-looking value. */
export const MASKED_VALUE = '********';

/** Whether a variable or build-arg name looks like it holds a secret (TOKEN, SECRET, PASSWORD, KEY...). */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** A copy of a name -> value map with the values of secret-looking names masked. */
export function maskSecretValues(values: Record<string, string>): Record<string, string> {
  const masked: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) masked[name] = isSecretName(name) ? MASKED_VALUE : value;
  return masked;
}

/** A project as shown outside the engine (the window, inspect --json): build-arg values of secret-looking names masked. */
export function withMaskedArgs(project: Project): Project {
  return {
    ...project,
    tasks: project.tasks.map((task) =>
      task.buildArgs ? { ...task, buildArgs: maskSecretValues(task.buildArgs) } : task,
    ),
  };
}
