/**
 * Environment variable names a job may set. POSIX (Base Definitions, 8.1)
 * names: letters, digits and underscores, not starting with a digit. One
 * exception: bash exports a function `f` as `BASH_FUNC_f%%` (`BASH_FUNC_f()`
 * in the older, distribution-patched form); environment
 * modules (Lmod's `module`, `ml`) travel that way, and Slurm passes them on,
 * so a job script keeps `module load` working.
 */

const POSIX_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// A bash function name is any word bash accepts (it allows `-`, `.`, `:`),
// without whitespace, control characters or "=".
const BASH_FUNCTION = /^BASH_FUNC_[^\s=\0-\x1f\x7f()%]+(?:%%|\(\))$/;

/** Whether `name` may be set in a job's environment. */
export function isValidEnvName(name: string): boolean {
  return POSIX_NAME.test(name) || BASH_FUNCTION.test(name);
}

/** Why `name` is refused as an environment variable name, or undefined when it is valid. */
export function envNameProblem(name: string): string | undefined {
  if (isValidEnvName(name)) return undefined;
  const shown = JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}...` : name);
  return `variable name ${shown} is not valid: names are letters, digits and "_", not starting with a digit (e.g. MY_VAR)`;
}
