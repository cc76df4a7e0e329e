/**
 * The numbers a simple scheduler and the executor need from a jobspec.
 *
 * How the resource graph is read:
 * - The task slot is found by the tasks' `slot` label (or, if no slot has that
 *   label, the only slot in the jobspec). All tasks must use the same slot.
 * - Counts are their minimum (a range mapping's `min`, a count string's
 *   smallest value).
 * - Above the slot: the deepest `node` vertex on the path is the node level.
 *   Levels above it (cluster, rack, switch) multiply the node count; levels
 *   between it and the slot (socket, numa, ...) multiply the slots per node.
 *   Without a node above the slot, a single node inside each slot
 *   (`slot -> node`, canonical node-level requests) makes one slot per node.
 * - Inside the slot: cores and gpus are summed, multiplying through the
 *   levels that contain them (`slot -> socket[2] -> core[4]` is 8 cores).
 *   `memory` vertices are ignored; so are resources off the path to the slot.
 *   A slot naming no cores (`slot -> node` without cores) has coresPerSlot 0:
 *   it asks for whole nodes.
 */
import { invalid } from '../errors/index.js';
import { countMin } from './count.js';
import type { Jobspec, ResourceVertex } from './types.js';

export interface JobRequest {
  nnodes: number;        // 0 = no node level in the request
  nslots: number;        // total slots (slot count x node count when slots are under nodes)
  slotsPerNode: number;  // 0 when there is no node level
  coresPerSlot: number;
  gpusPerSlot: number;
  exclusive: boolean;    // node-exclusive
  ntasks: number;        // total tasks (per_slot x nslots, or the total count)
  duration: number;      // seconds, 0 = unlimited
}

interface FoundSlot {
  vertex: ResourceVertex;
  ancestors: ResourceVertex[];
  path: string;
}

function findSlots(vs: readonly ResourceVertex[], ancestors: ResourceVertex[], path: string, out: FoundSlot[]): void {
  vs.forEach((v, i) => {
    const p = `${path}[${i}]`;
    if (v.type === 'slot') out.push({ vertex: v, ancestors, path: p });
    if (v.with) findSlots(v.with, [...ancestors, v], `${p}.with`, out);
  });
}

/** How many `type` resources one `v` holds, multiplying through intermediate levels. */
function countInside(v: ResourceVertex, type: string): number {
  let n = 0;
  for (const c of v.with ?? []) {
    if (c.type === 'memory') continue;
    n += c.type === type ? countMin(c.count) : countMin(c.count) * countInside(c, type);
  }
  return n;
}

function firstInside(v: ResourceVertex, type: string): ResourceVertex | undefined {
  for (const c of v.with ?? []) {
    const hit = c.type === type ? c : firstInside(c, type);
    if (hit) return hit;
  }
  return undefined;
}

const product = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/** Summarizes a validated jobspec; EINVAL for shapes one JobRequest cannot express. */
export function summarizeJobspec(js: Jobspec): JobRequest {
  const slots: FoundSlot[] = [];
  findSlots(js.resources, [], 'resources', slots);
  if (js.tasks.length === 0) throw invalid('tasks: must list at least one task');

  let found: FoundSlot | undefined;
  js.tasks.forEach((task, i) => {
    const mine = slots.find((s) => s.vertex.label === task.slot) ?? (slots.length === 1 ? slots[0] : undefined);
    if (!mine) {
      const labels = slots.map((s) => JSON.stringify(s.vertex.label)).join(', ');
      throw invalid(`tasks[${i}].slot: no slot is labelled ${JSON.stringify(task.slot)}; use one of ${labels || '(none)'}`);
    }
    if (found && found.vertex !== mine.vertex) {
      throw invalid(
        `tasks[${i}].slot: tasks run in different slots (${JSON.stringify(found.vertex.label)} and ${JSON.stringify(mine.vertex.label)}); ` +
          'a job request has one slot shape, so submit them as separate jobs',
      );
    }
    found = mine;
  });
  if (!found) throw invalid('resources: no slot found; add a slot vertex holding the task resources');

  const { vertex: slot, ancestors, path } = found;
  const above = ancestors.map((a) => countMin(a.count));
  const slotCount = countMin(slot.count);
  const nslots = product(above) * slotCount;

  let nnodes = 0;
  let slotsPerNode = 0;
  let exclusive = false;
  const nodeLevel = ancestors.map((a) => a.type).lastIndexOf('node');
  if (nodeLevel >= 0) {
    nnodes = product(above.slice(0, nodeLevel + 1));
    slotsPerNode = product(above.slice(nodeLevel + 1)) * slotCount;
    exclusive = ancestors[nodeLevel]?.exclusive === true;
  } else {
    const nodesPerSlot = countInside(slot, 'node');
    if (nodesPerSlot > 1) {
      throw invalid(`${path}: each slot spans ${nodesPerSlot} nodes, which a job request cannot express; use one node per slot`);
    }
    if (nodesPerSlot === 1) {
      nnodes = nslots;
      slotsPerNode = 1;
      // Resources inside a slot are exclusive unless they say otherwise (RFC 14).
      exclusive = firstInside(slot, 'node')?.exclusive !== false;
    }
  }

  let ntasks = 0;
  js.tasks.forEach((task, i) => {
    const c = task.count;
    if ('per_slot' in c) ntasks += c.per_slot * nslots;
    else if ('total' in c) ntasks += c.total;
    else {
      const per = countInside(slot, c.per_resource.type);
      if (per === 0) {
        throw invalid(`tasks[${i}].count.per_resource.type: slot ${JSON.stringify(slot.label)} holds no ${JSON.stringify(c.per_resource.type)} resources; name a type inside the slot`);
      }
      ntasks += c.per_resource.count * per * nslots;
    }
  });

  return {
    nnodes,
    nslots,
    slotsPerNode,
    coresPerSlot: countInside(slot, 'core'),
    gpusPerSlot: countInside(slot, 'gpu'),
    exclusive,
    ntasks,
    duration: js.attributes.system?.duration ?? 0,
  };
}
