/**
 * CPU binding for tasks. With the native addon (native/affinity.c, built by
 * `npm ci`), the executor narrows its own main thread's CPU mask around each
 * spawn, so the child is bound from its first instruction at no extra cost.
 * Without it, tasks are started through `taskset -c` (one more exec).
 */
import { createRequire } from 'node:module';
import { installPath } from '../service/index.js';

interface AffinityAddon {
  get(): number[];
  set(cpus: number[]): void;
}

let addon: AffinityAddon | undefined;
try {
  addon = createRequire(import.meta.url)(installPath('build/Release/affinity.node')) as AffinityAddon;
} catch {
  addon = undefined;
}
const original = addon?.get();

export function nativeAffinity(): boolean {
  return addon !== undefined;
}

/**
 * Runs `spawnFn` so that what it starts is bound to `cpus`; returns its
 * result. Falls back to prefixing the command with taskset when the addon is
 * missing or the mask is refused (e.g. CPUs outside this process's cpuset).
 */
export function spawnBound<T>(cpus: number[], command: string[], spawnFn: (cmd: string, args: string[]) => T): T {
  if (cpus.length === 0) return spawnFn(command[0]!, command.slice(1));
  if (addon && original) {
    let bound = false;
    try {
      addon.set(cpus);
      bound = true;
    } catch { /* not allowed here: use taskset */ }
    if (bound) {
      try {
        return spawnFn(command[0]!, command.slice(1));
      } finally {
        addon.set(original);
      }
    }
  }
  return spawnFn('taskset', ['-c', cpus.join(','), ...command]);
}
