/**
 * Where this installation's files are. The code runs either from tsc's
 * output (dist/src/...) or from the bundle that `npm run build` makes of it
 * (dist/bundle/: one file per process kind plus shared chunks, which start
 * much faster: docs/decisions.md, ADR 14). Both live under dist/, so the
 * package root is what comes before it; processes started by this one use
 * the same form of the code as this one.
 */
import { fileURLToPath } from 'node:url';

const here = import.meta.url;
const rootUrl = here.slice(0, here.lastIndexOf('/dist/') + 1);

/** True when this process runs the bundle. */
export const BUNDLED = here.includes('/dist/bundle/');

/** A file of the installation, from a path relative to the package root (`bin/fractal`). */
export function installPath(rel: string): string {
  return fileURLToPath(new URL(rel, rootUrl));
}

/** The main script of a process kind this installation starts: the broker or a node's executor. */
export function entryPoint(kind: 'broker' | 'shell'): string {
  return installPath(BUNDLED ? `dist/bundle/${kind}.cjs` : `dist/src/${kind}/main.js`);
}

/**
 * Node 20 reads and parses the NODE_EXTRA_CA_CERTS file (often the whole system bundle) at every
 * start, before any code runs: about 55 ms per process here. Fractal's own processes (brokers,
 * executors, the brokers of nested instances) make no TLS connection that needs it, so they are
 * started without it; it is kept under SAVED_CA_VAR and put back for the programs they run.
 */
const EXTRA_CA_VAR = 'NODE_EXTRA_CA_CERTS';
const SAVED_CA_VAR = 'FRACTAL_SAVED_NODE_EXTRA_CA_CERTS';

/** `env` for starting one of Fractal's own Node.js processes (see above). */
export function serviceEnv<E extends Record<string, string | undefined>>(env: E): E {
  const ca = env[EXTRA_CA_VAR];
  if (ca === undefined) return env;
  const out: Record<string, string | undefined> = { ...env, [SAVED_CA_VAR]: ca };
  delete out[EXTRA_CA_VAR];
  return out as E;
}

/** Undoes serviceEnv in this process's own environment, for the programs it starts. */
export function restoreServiceEnv(env: NodeJS.ProcessEnv = process.env): void {
  const ca = env[SAVED_CA_VAR];
  if (ca === undefined) return;
  env[EXTRA_CA_VAR] = ca;
  delete env[SAVED_CA_VAR];
}
