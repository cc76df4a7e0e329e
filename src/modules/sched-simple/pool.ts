/**
 * The simple scheduler's resource pool: per rank, which cores and GPUs are
 * free. Pure logic (no messages): `alloc` returns an allocation or the reason
 * it cannot be made, `free` gives one back. First fit over ranks in order.
 */
import type { JobRequest } from '../../jobspec/index.js';

export interface RankInventory {
  rank: number;
  hostname: string;
  ncores: number;
  ngpus: number;
}

export interface RankAlloc {
  rank: number;
  cores: number[];
  gpus: number[];
}

interface RankState {
  inv: RankInventory;
  freeCores: boolean[];
  freeGpus: boolean[];
  nfreeCores: number;
  nfreeGpus: number;
  /** Jobs holding resources here (a node-exclusive job needs 0). */
  users: number;
  up: boolean;
  drained: boolean;
}

export class Pool {
  private readonly ranks = new Map<number, RankState>();
  private readonly order: RankState[] = [];

  constructor(inventory: RankInventory[]) {
    for (const inv of [...inventory].sort((a, b) => a.rank - b.rank)) {
      const s: RankState = {
        inv, freeCores: new Array<boolean>(inv.ncores).fill(true), freeGpus: new Array<boolean>(inv.ngpus).fill(true),
        nfreeCores: inv.ncores, nfreeGpus: inv.ngpus, users: 0, up: true, drained: false,
      };
      this.ranks.set(inv.rank, s);
      this.order.push(s);
    }
  }

  setUp(rank: number, up: boolean): void {
    const s = this.ranks.get(rank);
    if (s) s.up = up;
  }
  setDrained(rank: number, drained: boolean): void {
    const s = this.ranks.get(rank);
    if (s) s.drained = drained;
  }

  /** Could the request ever fit this pool (all resources free, drained nodes included)? */
  feasible(req: JobRequest): string | undefined {
    const ok = this.search(req, true);
    return Array.isArray(ok) ? undefined : ok;
  }

  /** Allocates now, or returns why not. */
  alloc(req: JobRequest): RankAlloc[] | string {
    const r = this.search(req, false);
    if (Array.isArray(r)) for (const a of r) this.take(a);
    return r;
  }

  private fitSlots(s: RankState, req: JobRequest, empty: boolean): number {
    const cores = empty ? s.inv.ncores : s.nfreeCores;
    const gpus = empty ? s.inv.ngpus : s.nfreeGpus;
    const byCores = req.coresPerSlot > 0 ? Math.floor(cores / req.coresPerSlot) : Infinity;
    const byGpus = req.gpusPerSlot > 0 ? Math.floor(gpus / req.gpusPerSlot) : Infinity;
    return Math.min(byCores, byGpus);
  }

  private usable(s: RankState, empty: boolean): boolean {
    return empty || (s.up && !s.drained);
  }

  private search(req: JobRequest, empty: boolean): RankAlloc[] | string {
    const out: RankAlloc[] = [];
    if (req.nnodes > 0) {
      if (req.nnodes > this.order.length) return `the job asks for ${req.nnodes} nodes but the instance has ${this.order.length}`;
      for (const s of this.order) {
        if (!this.usable(s, empty)) continue;
        if (req.exclusive) {
          if (!empty && s.users > 0) continue;
          if (this.fitSlots(s, req, true) < Math.max(1, req.slotsPerNode)) continue;
          out.push({ rank: s.inv.rank, cores: range(s.inv.ncores), gpus: range(s.inv.ngpus) });
        } else {
          if (this.fitSlots(s, req, empty) < req.slotsPerNode) continue;
          out.push(this.pick(s, req.slotsPerNode * req.coresPerSlot, req.slotsPerNode * req.gpusPerSlot, empty));
        }
        if (out.length === req.nnodes) return out;
      }
      return empty ? `no ${req.nnodes} nodes of this instance can each hold ${req.slotsPerNode} slot(s) of ${describeSlot(req)}` : 'resources';
    }
    let need = req.nslots;
    for (const s of this.order) {
      if (!this.usable(s, empty)) continue;
      const n = Math.min(need, this.fitSlots(s, req, empty));
      if (n <= 0) continue;
      out.push(this.pick(s, n * req.coresPerSlot, n * req.gpusPerSlot, empty));
      need -= n;
      if (need === 0) return out;
    }
    return empty ? `the instance cannot hold ${req.nslots} slot(s) of ${describeSlot(req)} (largest node: ${this.largest()})` : 'resources';
  }

  private largest(): string {
    let c = 0, g = 0;
    for (const s of this.order) { c = Math.max(c, s.inv.ncores); g = Math.max(g, s.inv.ngpus); }
    return `${c} cores, ${g} GPUs; ${this.order.length} nodes`;
  }

  private pick(s: RankState, ncores: number, ngpus: number, empty: boolean): RankAlloc {
    return { rank: s.inv.rank, cores: firstFree(s.freeCores, ncores, empty), gpus: firstFree(s.freeGpus, ngpus, empty) };
  }

  private take(a: RankAlloc): void {
    const s = this.ranks.get(a.rank);
    if (!s) return;
    for (const c of a.cores) if (s.freeCores[c]) { s.freeCores[c] = false; s.nfreeCores--; }
    for (const g of a.gpus) if (s.freeGpus[g]) { s.freeGpus[g] = false; s.nfreeGpus--; }
    s.users++;
  }

  /** Marks an allocation as in use (restart: jobs that were already running). */
  claim(allocs: RankAlloc[]): void {
    for (const a of allocs) this.take(a);
  }

  free(allocs: RankAlloc[]): void {
    for (const a of allocs) {
      const s = this.ranks.get(a.rank);
      if (!s) continue;
      for (const c of a.cores) if (c < s.freeCores.length && !s.freeCores[c]) { s.freeCores[c] = true; s.nfreeCores++; }
      for (const g of a.gpus) if (g < s.freeGpus.length && !s.freeGpus[g]) { s.freeGpus[g] = true; s.nfreeGpus++; }
      s.users = Math.max(0, s.users - 1);
    }
  }

  status(): { rank: number; hostname: string; ncores: number; ngpus: number; freeCores: number; freeGpus: number; up: boolean; drained: boolean }[] {
    return this.order.map((s) => ({ rank: s.inv.rank, hostname: s.inv.hostname, ncores: s.inv.ncores, ngpus: s.inv.ngpus, freeCores: s.nfreeCores, freeGpus: s.nfreeGpus, up: s.up, drained: s.drained }));
  }

  hostname(rank: number): string | undefined {
    return this.ranks.get(rank)?.inv.hostname;
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function firstFree(free: boolean[], n: number, empty: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < free.length && out.length < n; i++) if (empty || free[i]) out.push(i);
  return out;
}

function describeSlot(req: JobRequest): string {
  return `${req.coresPerSlot} core(s)${req.gpusPerSlot ? ` + ${req.gpusPerSlot} GPU(s)` : ''}`;
}
