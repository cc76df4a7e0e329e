/**
 * resource (rank 0): the instance's inventory. Every rank registers what its
 * node offers when it joins; the scheduler acquires the inventory once all
 * ranks are in, and follows `resource.update` events (drain, undrain, up,
 * down). Drained ranks are persisted in the store and survive restarts.
 *
 * Topics: resource.{register,acquire,status,drain,undrain}.
 */
import { FractalError, ErrorCodes, invalid } from '../../errors/index.js';
import { Hostlist, IdSet } from '../../resource/index.js';
import { DEFERRED, type BrokerModule, type ModuleContext, type Req } from '../../service/index.js';
import { discoverLocal, type LocalResources } from './discover.js';

interface RankEntry extends LocalResources {
  rank: number;
  up: boolean;
}

interface Drain {
  reason: string;
  timestamp: number;
}

export class ResourceModule implements BrokerModule {
  readonly name = 'resource';
  readonly ranks = 'leader' as const;
  private ctx!: ModuleContext;
  private readonly ranksMap = new Map<number, RankEntry>();
  private drained = new Map<number, Drain>();
  private readonly acquirers: Req[] = [];
  private complete = false;

  start(ctx: ModuleContext): void {
    this.ctx = ctx;
    const saved = ctx.store?.kvGet<Record<string, Drain>>('resource.drained') ?? {};
    this.drained = new Map(Object.entries(saved).map(([k, v]) => [Number(k), v]));
    this.add({ rank: 0, ...discoverLocal(ctx.broker.attrs), up: true });
    ctx.register([
      { topic: 'resource.register', internal: true, handler: (r) => this.register(r.payload as { rank: number; resources?: LocalResources }) },
      { topic: 'resource.acquire', internal: true, handler: (r) => this.acquire(r) },
      { topic: 'resource.status', handler: () => this.status() },
      { topic: 'resource.drain', ownerOnly: true, handler: (r) => this.drain(r.payload as { targets: string; reason?: string; undrain?: boolean }) },
      { topic: 'resource.undrain', ownerOnly: true, handler: (r) => this.drain({ ...(r.payload as { targets: string }), undrain: true }) },
    ]);
    // A lost broker cuts off its whole subtree: every rank in it is down until it registers again.
    ctx.subscribe('overlay.lost', (_t, p) => {
      const lost = p as { rank: number; ranks?: number[] };
      for (const rank of lost.ranks ?? [lost.rank]) {
        const e = this.ranksMap.get(rank);
        if (e?.up) {
          e.up = false;
          ctx.publish('resource.update', { rank, up: false });
        }
      }
    });
  }

  private add(e: RankEntry): void {
    this.ranksMap.set(e.rank, e);
    if (this.ranksMap.size === this.ctx.broker.size && !this.complete) {
      this.complete = true;
      for (const r of this.acquirers.splice(0)) r.respond(this.inventory());
    }
  }

  private register(p: { rank: number; resources?: LocalResources }): unknown {
    if (!Number.isInteger(p?.rank) || p.rank < 0 || p.rank >= this.ctx.broker.size) throw invalid(`resource.register: bad rank ${String(p?.rank)}`);
    const res = p.resources ?? { hostname: this.ctx.broker.hostname, ncores: 1, ngpus: 0 };
    const known = this.ranksMap.get(p.rank);
    this.add({ rank: p.rank, ...res, up: true });
    if (known && !known.up) this.ctx.publish('resource.update', { rank: p.rank, up: true });
    return {};
  }

  private inventory(): unknown {
    const ranks = [...this.ranksMap.values()].sort((a, b) => a.rank - b.rank);
    return {
      ranks: ranks.map((e) => ({ rank: e.rank, hostname: e.hostname, ncores: e.ncores, ngpus: e.ngpus })),
      drained: [...this.drained.keys()],
      down: ranks.filter((e) => !e.up).map((e) => e.rank),
    };
  }

  private acquire(req: Req): unknown {
    if (this.complete) return this.inventory();
    this.acquirers.push(req);
    return DEFERRED;
  }

  private status(): unknown {
    const ranks = [...this.ranksMap.values()].sort((a, b) => a.rank - b.rank);
    return {
      ranks: ranks.map((e) => ({
        rank: e.rank, hostname: e.hostname, ncores: e.ncores, ngpus: e.ngpus, up: e.up,
        drained: this.drained.has(e.rank), reason: this.drained.get(e.rank)?.reason ?? '', since: this.drained.get(e.rank)?.timestamp ?? null,
      })),
      size: this.ctx.broker.size,
    };
  }

  /** Targets are rank idsets ("0-3") or hostnames/hostlists ("node[1-2]"). */
  private resolveTargets(targets: string): number[] {
    if (typeof targets !== 'string' || targets.trim() === '') throw invalid('give the ranks (e.g. 0-3) or hostnames (e.g. node[1-2]) to drain');
    let ranks: number[];
    if (/^[\d,\-[\]\s]+$/.test(targets)) ranks = IdSet.parse(targets.replace(/\s/g, '')).toArray();
    else {
      const hosts = Hostlist.parse(targets).toArray();
      ranks = [];
      for (const h of hosts) {
        const matches = [...this.ranksMap.values()].filter((e) => e.hostname === h).map((e) => e.rank);
        if (matches.length === 0) throw invalid(`no node named "${h}" in this instance (see \`fractal resource status\`)`);
        ranks.push(...matches);
      }
    }
    for (const r of ranks) if (!this.ranksMap.has(r)) throw new FractalError(ErrorCodes.NOT_FOUND, `no rank ${r}: the instance has ranks 0-${this.ctx.broker.size - 1}`);
    return ranks;
  }

  private drain(p: { targets: string; reason?: string; undrain?: boolean }): unknown {
    const ranks = this.resolveTargets(p?.targets);
    for (const rank of ranks) {
      if (p.undrain) {
        if (!this.drained.delete(rank)) continue;
      } else {
        this.drained.set(rank, { reason: p.reason ?? '', timestamp: Date.now() / 1000 });
      }
      this.ctx.publish('resource.update', { rank, drained: !p.undrain });
    }
    this.ctx.store?.kvPut('resource.drained', Object.fromEntries(this.drained));
    return { ranks: IdSet.fromArray(ranks).encode() };
  }
}

export { discoverLocal, type LocalResources };
