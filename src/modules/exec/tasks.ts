/**
 * Where a job's tasks go: the job's R gives cores per rank; the request says
 * how many slots each rank holds and how many tasks there are. Tasks are
 * spread over slots in rank order, block-wise (task ranks are contiguous on
 * a node, as Slurm's default block distribution).
 */
import type { JobRequest } from '../../jobspec/index.js';

export interface RankShare {
  rank: number;
  cores: number[];
  gpus: number[];
  hostname: string;
}

export function distributeTasks(shares: RankShare[], req: JobRequest): number[][] {
  const slots = shares.map((s) => {
    if (req.nnodes > 0) return Math.max(1, req.slotsPerNode);
    if (req.coresPerSlot > 0) return Math.max(1, Math.floor(s.cores.length / req.coresPerSlot));
    if (req.gpusPerSlot > 0) return Math.max(1, Math.floor(s.gpus.length / req.gpusPerSlot));
    return 1;
  });
  const totalSlots = slots.reduce((a, b) => a + b, 0);
  const ntasks = Math.max(1, req.ntasks);
  const base = Math.floor(ntasks / totalSlots);
  let extra = ntasks % totalSlots;
  const out: number[][] = [];
  let next = 0;
  for (const n of slots) {
    let count = 0;
    for (let s = 0; s < n; s++) {
      count += base;
      if (extra > 0) { count++; extra--; }
    }
    out.push(Array.from({ length: count }, () => next++));
  }
  return out;
}
