/**
 * Jobspec V1 from a command line shape, as `flux run` / `flux submit` build it
 * (flux's JobspecV1.from_command): the one place where -N/-n/-c/-g become
 * resources and a task count.
 */
import { invalid } from '../errors/index.js';
import type { Jobspec, ResourceVertex, SystemAttributes, TaskCount } from './types.js';
import { validateJobspec } from './validate.js';

/** What the user asked for on the command line. Every field is optional. */
export interface JobShape {
  /** -N/--nodes. Unset: no node level, the scheduler packs slots anywhere. */
  nnodes?: number;
  /** -n/--ntasks. Default: nnodes when set, else 1. */
  ntasks?: number;
  /** -c/--cores-per-task. Default 1. */
  coresPerTask?: number;
  /** -g/--gpus-per-task. Default 0 (no gpu vertex). */
  gpusPerTask?: number;
  /** --exclusive: allocate whole nodes. Needs nnodes. */
  exclusive?: boolean;
}

function checkOption(v: number | undefined, option: string, min: number): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw invalid(`${option}: must be an integer >= ${min} (got ${String(v)})`);
  }
}

/**
 * Builds and validates a V1 jobspec running `command`.
 *
 * Without nnodes: `slot[ntasks] -> core[c], gpu[g]`, tasks `{per_slot: 1}`.
 * With nnodes: `node[nnodes, exclusive?] -> slot[ceil(ntasks/nnodes)] -> core[c], gpu[g]`.
 * When ntasks is a multiple of nnodes the tasks are `{per_slot: 1}`; when it is
 * not (e.g. -N2 -n3) there are more slots than tasks (2 nodes x 2 slots = 4),
 * so, as Flux does, the task count is `{total: ntasks}` and one slot stays idle.
 * With --exclusive, nnodes may exceed ntasks: each node gets one slot and the
 * `total` count leaves the extra nodes without tasks.
 *
 * `attrs` become `attributes.system`; `duration` defaults to 0 (unlimited,
 * and required by V1) and an infinite duration is written as 0. Keys whose
 * value is undefined are dropped.
 */
export function jobspecFromCommand(command: string[], shape: JobShape = {}, attrs: SystemAttributes = {}): Jobspec {
  if (!Array.isArray(command) || command.length === 0) {
    throw invalid('command: give the program to run and its arguments, e.g. ["hostname"]');
  }
  command.forEach((arg, i) => {
    if (typeof arg !== 'string') throw invalid(`command[${i}]: must be a string (got ${typeof arg})`);
  });
  if (command[0] === '') throw invalid('command[0]: the program name must not be empty');

  checkOption(shape.nnodes, '-N/--nodes', 1);
  checkOption(shape.ntasks, '-n/--ntasks', 1);
  checkOption(shape.coresPerTask, '-c/--cores-per-task', 1);
  checkOption(shape.gpusPerTask, '-g/--gpus-per-task', 0);
  const nnodes = shape.nnodes;
  const ntasks = shape.ntasks ?? nnodes ?? 1;
  const exclusive = shape.exclusive ?? false;
  if (exclusive && nnodes === undefined) {
    throw invalid('--exclusive: requires -N/--nodes; exclusive allocation is by whole nodes, so give a node count');
  }
  if (nnodes !== undefined && nnodes > ntasks && !exclusive) {
    throw invalid(
      `-N/--nodes: ${nnodes} nodes is more than the ${ntasks} task${ntasks === 1 ? '' : 's'} of -n/--ntasks; ` +
        'lower -N, raise -n, or add --exclusive to allocate whole nodes',
    );
  }

  const inSlot: ResourceVertex[] = [{ type: 'core', count: shape.coresPerTask ?? 1 }];
  const gpus = shape.gpusPerTask ?? 0;
  if (gpus > 0) inSlot.push({ type: 'gpu', count: gpus });

  let top: ResourceVertex;
  let count: TaskCount;
  if (nnodes === undefined) {
    top = { type: 'slot', count: ntasks, label: 'task', with: inSlot };
    count = { per_slot: 1 };
  } else {
    const slot: ResourceVertex = { type: 'slot', count: Math.ceil(ntasks / nnodes), label: 'task', with: inSlot };
    top = exclusive
      ? { type: 'node', count: nnodes, exclusive: true, with: [slot] }
      : { type: 'node', count: nnodes, with: [slot] };
    count = ntasks % nnodes === 0 ? { per_slot: 1 } : { total: ntasks };
  }

  const system: SystemAttributes = { duration: 0 };
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined) system[key] = structuredClone(value);
  }
  if (system.duration === Infinity) system.duration = 0;

  const js: Jobspec = {
    version: 1,
    resources: [top],
    tasks: [{ command: [...command], slot: 'task', count }],
    attributes: { system },
  };
  // Catches bad attributes (negative duration, non-string environment, ...)
  // with their field path.
  return validateJobspec(js, { version: 'v1' });
}
