/**
 * The command interpreter behind `fractal resource-query` (Fluxion's
 * resource-query tool): one command per line against a ResourceGraph.
 *
 *   match allocate|allocate_orelse_reserve|allocate_with_satisfiability|satisfiability JOBSPEC
 *   cancel JOBID        info JOBID        stat        quit
 *   set-property PATH KEY=VALUE          get-property PATH
 *   set-status PATH up|down|drained      get-status PATH
 *
 * Output formats: `rv1` and `jgf` print, per match, a line
 * `JOBID=n OUTCOME ...` and the resource set as one JSON line; `simple` and
 * `pretty_simple` print Fluxion's own text, byte for byte, so that its test
 * expectations can be compared. Reading jobspec files is injected, so the
 * interpreter stays pure.
 */
import { FractalError } from '../../errors/index.js';
import type { MatchMode, MatchOutcome, ResourceGraph } from './graph.js';
import { MATCH_MODES } from './graph.js';
import type { MatchPolicy } from './matcher.js';
import { MATCH_POLICIES } from './matcher.js';
import { UNKNOWN_TYPE } from './request.js';
import type { Req } from './request.js';
import { statusName } from './store.js';
import type { VertexStatus } from './store.js';
import { allocationJgf, writeSimple } from './writers.js';

export type QueryFormat = 'rv1' | 'jgf' | 'simple' | 'pretty_simple';
export const QUERY_FORMATS: readonly QueryFormat[] = ['rv1', 'jgf', 'simple', 'pretty_simple'];

/** A policy as resource-query understands it: Fractal's names, or Fluxion's. */
export interface QueryPolicy {
  policy: MatchPolicy;
  nodeExclusive: boolean;
  strict: boolean;
  tieBreak?: 'low-id' | 'high-id';
}

/**
 * Fluxion's policy names map onto Fractal's matcher with Fluxion's level
 * rules: high/hinode → high-id, low/lonode → low-id, *nodex → node
 * exclusive, locality → pack, variation → spread. Fluxion's `first` walks
 * children by (free cores, id) descending, i.e. spread with high-id ties;
 * it is reached as `fluxion-first` since `first` is Fractal's own policy.
 */
const FLUXION_POLICIES: Record<string, QueryPolicy> = {
  high: { policy: 'high-id', nodeExclusive: false, strict: true },
  low: { policy: 'low-id', nodeExclusive: false, strict: true },
  hinode: { policy: 'high-id', nodeExclusive: false, strict: true },
  lonode: { policy: 'low-id', nodeExclusive: false, strict: true },
  hinodex: { policy: 'high-id', nodeExclusive: true, strict: true },
  lonodex: { policy: 'low-id', nodeExclusive: true, strict: true },
  firstnodex: { policy: 'high-id', nodeExclusive: true, strict: true },
  locality: { policy: 'pack', nodeExclusive: false, strict: true },
  variation: { policy: 'spread', nodeExclusive: false, strict: true },
  'fluxion-first': { policy: 'spread', nodeExclusive: false, strict: true, tieBreak: 'high-id' },
};

export function parseQueryPolicy(name: string): QueryPolicy {
  if (MATCH_POLICIES.includes(name as MatchPolicy)) return { policy: name as MatchPolicy, nodeExclusive: false, strict: false };
  const f = FLUXION_POLICIES[name];
  if (f !== undefined) return f;
  throw new FractalError(
    'EINVAL',
    `unknown match policy "${name}"; use one of ${MATCH_POLICIES.join(', ')} (or Fluxion's ${Object.keys(FLUXION_POLICIES).join(', ')})`,
  );
}

export interface QueryOptions {
  policy: QueryPolicy;
  format: QueryFormat;
  timing: boolean;
  /** Reads a jobspec file (YAML or JSON text already parsed to an object). */
  readJobspec: (path: string) => unknown;
  /** A clock in milliseconds, for --timing (e.g. performance.now). */
  clock: () => number;
}

/** What one command printed, and whether it asked to stop. */
export interface CommandOutput {
  out: string;
  err: string;
  quit: boolean;
}

interface JobRecord {
  outcome: MatchOutcome;
  start: number;
  file: string;
  ms: number;
}

export class ResourceQuery {
  readonly graph: ResourceGraph;
  readonly #o: QueryOptions;
  readonly #jobs = new Map<number, JobRecord>();
  readonly #times: number[] = [];

  constructor(graph: ResourceGraph, opts: QueryOptions) {
    this.graph = graph;
    this.#o = opts;
  }

  get #fluxion(): boolean {
    return this.#o.format === 'simple' || this.#o.format === 'pretty_simple';
  }

  /** Runs one command line. Blank lines and # comments print nothing. */
  execute(line: string): CommandOutput {
    const args = line.trim().split(/\s+/).filter((a) => a !== '');
    const res: CommandOutput = { out: '', err: '', quit: false };
    if (args.length === 0 || args[0]!.startsWith('#')) return res;
    try {
      switch (args[0]) {
        case 'match':
        case 'm':
          this.#match(args, res);
          break;
        case 'cancel':
        case 'c':
          this.#cancel(args, res);
          break;
        case 'info':
        case 'i':
          this.#info(args, res);
          break;
        case 'stat':
        case 's':
          this.#stat(res);
          break;
        case 'set-property':
        case 'p':
          this.#setProperty(args, res);
          break;
        case 'get-property':
        case 'g':
          this.#getProperty(args, res);
          break;
        case 'set-status':
          this.#setStatus(args, res);
          break;
        case 'get-status':
          this.#getStatus(args, res);
          break;
        case 'help':
        case 'h':
          res.out +=
            'match allocate|allocate_orelse_reserve|allocate_with_satisfiability|satisfiability JOBSPEC\n' +
            'cancel JOBID | info JOBID | stat | set-property PATH KEY=VALUE | get-property PATH\n' +
            'set-status PATH up|down|drained | get-status PATH | quit\n';
          break;
        case 'quit':
        case 'q':
          res.quit = true;
          break;
        default:
          res.err += `ERROR: unknown command "${args[0]}"; type help for the list\n`;
      }
    } catch (e) {
      const f = FractalError.from(e);
      res.err += `ERROR: ${f.message}\n`;
    }
    return res;
  }

  #match(args: string[], res: CommandOutput): void {
    if (args.length !== 3) {
      res.err += 'ERROR: malformed command: use match MODE JOBSPEC\n';
      return;
    }
    const mode = args[1] as MatchMode;
    if (!MATCH_MODES.includes(mode)) {
      res.err += `ERROR: unknown subcmd ${args[1]}; use one of ${MATCH_MODES.join(', ')}\n`;
      return;
    }
    const file = args[2]!;
    let spec: unknown;
    try {
      spec = this.#o.readJobspec(file);
    } catch (e) {
      res.err += `ERROR: can't open ${file}: ${e instanceof Error ? e.message : String(e)}\n`;
      return;
    }
    const g = this.graph;
    const compiled = g.compile(spec);
    if (this.#fluxion && hasUnknownType(compiled.reqs)) {
      // Fluxion rejects unknown types when parsing, before taking a job id.
      res.err += 'match_allocate: ERROR: Jobspec error for 1: Value of "type" must be a resource type known to fluxion\n';
      return;
    }
    const p = this.#o.policy;
    const t0 = this.#o.clock();
    const r = g.match(compiled, {
      mode,
      policy: p.policy,
      nodeExclusive: p.nodeExclusive,
      strict: p.strict,
      ...(p.tieBreak === undefined ? {} : { tieBreak: p.tieBreak }),
    });
    const ms = this.#o.clock() - t0;
    this.#times.push(ms);
    const timing = this.#o.timing ? ` TIME=${ms.toFixed(3)}ms` : '';
    if (this.#fluxion) {
      this.#fluxionOutput(mode, r.jobid, r.outcome, r.start, res, nodesNeeded(compiled.reqs, g.store.typeIndex('node')));
      if (this.#o.timing) res.out += `INFO: ELAPSE=${(ms / 1000).toFixed(6)}\n`;
    } else if (mode === 'satisfiability') {
      res.out += `${r.outcome}${r.reason === undefined ? '' : `: ${r.reason}`}${timing}\n`;
    } else if (r.outcome === 'ALLOCATED' || r.outcome === 'RESERVED') {
      const end = r.end >= Number.MAX_SAFE_INTEGER ? 'never' : String(r.end);
      res.out += `JOBID=${r.jobid} ${r.outcome} START=${r.start} END=${end}${timing}\n`;
      const set = this.#o.format === 'jgf' ? allocationJgf(g, r.jobid) : g.rv1(r.jobid).toJSON();
      res.out += `${JSON.stringify(set)}\n`;
    } else {
      res.out += `JOBID=${r.jobid} ${r.outcome}${r.reason === undefined ? '' : `: ${r.reason}`}${timing}\n`;
    }
    if (r.outcome === 'ALLOCATED' || r.outcome === 'RESERVED') this.#jobs.set(r.jobid, { outcome: r.outcome, start: r.start, file, ms });
  }

  #fluxionOutput(mode: MatchMode, jobid: number, outcome: MatchOutcome, start: number, res: CommandOutput, nodes: number): void {
    const bar = 'INFO: =============================\n';
    if (mode === 'satisfiability') {
      res.out += `${bar}INFO: ${outcome === 'SATISFIABLE' ? 'Satisfiable' : 'Unsatisfiable'} request\n${bar}`;
      return;
    }
    if (outcome === 'ALLOCATED' || outcome === 'RESERVED') {
      res.out += writeSimple(this.graph, jobid, this.#o.format === 'pretty_simple');
      res.out += `${bar}INFO: JOBID=${jobid}\nINFO: RESOURCES=${outcome}\nINFO: SCHEDULED AT=${start === 0 ? 'Now' : String(start)}\n${bar}`;
      return;
    }
    // Fluxion tells "unsatisfiable" apart only when asked to check or
    // reserve, and its reserve path reports "busy" when the request needs
    // more nodes than are up (a pre-check before matching).
    const unsat = outcome === 'UNSATISFIABLE' && mode !== 'allocate' && !(mode === 'allocate_orelse_reserve' && nodes > this.#nodesUp());
    res.out += `${bar}INFO: No matching resources found\n${unsat ? 'INFO: Unsatisfiable request\n' : ''}INFO: JOBID=${jobid}\n${bar}`;
  }

  #nodesUp(): number {
    const g = this.graph.store;
    const t = g.typeIndex('node');
    let n = 0;
    for (const v of g.verticesOfType(t)) if (g.status[v] === 0) n++;
    return n;
  }

  #jobid(s: string | undefined, res: CommandOutput): number | undefined {
    const n = Number(s);
    if (s === undefined || !/^\d+$/.test(s) || !Number.isSafeInteger(n)) {
      res.err += `ERROR: "${s ?? ''}" is not a job id; use the JOBID printed by match\n`;
      return undefined;
    }
    return n;
  }

  #cancel(args: string[], res: CommandOutput): void {
    const id = this.#jobid(args[1], res);
    if (id === undefined) return;
    if (!this.graph.hasJob(id)) {
      res.err += `ERROR: nonexistent job ${id}\n`;
      return;
    }
    this.graph.free(id);
    this.#jobs.delete(id);
    if (!this.#fluxion) res.out += `JOBID=${id} CANCELED\n`;
  }

  #info(args: string[], res: CommandOutput): void {
    const id = this.#jobid(args[1], res);
    if (id === undefined) return;
    const j = this.#jobs.get(id);
    const i = this.graph.info(id);
    if (j === undefined || i === undefined) {
      res.err += `ERROR: nonexistent job ${id}\n`;
      return;
    }
    if (this.#fluxion) res.out += `INFO: ${id}, ${j.outcome}, ${j.start}, ${j.file}, ${(j.ms / 1000).toFixed(6)}\n`;
    else {
      const end = i.end >= Number.MAX_SAFE_INTEGER ? 'never' : String(i.end);
      res.out += `JOBID=${id} ${j.outcome} START=${i.start} END=${end} VERTICES=${i.nvertices} JOBSPEC=${j.file}\n`;
    }
  }

  #stat(res: CommandOutput): void {
    const g = this.graph;
    const ts = this.#times;
    const n = ts.length;
    const min = n === 0 ? 0 : Math.min(...ts);
    const max = n === 0 ? 0 : Math.max(...ts);
    const avg = n === 0 ? 0 : ts.reduce((a, b) => a + b, 0) / n;
    res.out += `INFO: Num. of Jobs Matched: ${this.#jobs.size}\n`;
    res.out += `INFO: Min. Match Time: ${(min / 1000).toFixed(6)}\nINFO: Max. Match Time: ${(max / 1000).toFixed(6)}\nINFO: Avg. Match Time: ${(avg / 1000).toFixed(6)}\n`;
    res.out += `INFO: Vertices: ${g.store.count}\n`;
    for (const s of g.stat()) {
      res.out += `INFO: ${s.type}: total=${s.total} allocated=${s.allocated} free=${s.free} drained=${s.drained} down=${s.down}\n`;
    }
  }

  #path(p: string | undefined): number {
    return p === undefined ? -1 : this.graph.store.byPath(p);
  }

  #setProperty(args: string[], res: CommandOutput): void {
    if (args.length !== 3) {
      res.err += 'ERROR: malformed command\n';
      return;
    }
    const kv = args[2]!;
    const eq = kv.indexOf('=');
    if (eq <= 0 || eq === kv.length - 1) {
      res.out += 'Incorrect input format. \nPlease use `set-property <resource> PROPERTY=VALUE`.\n';
      return;
    }
    const v = this.#path(args[1]);
    if (v < 0) {
      res.out += `Couldn't find path ${args[1]!} in resource graph.\n`;
      return;
    }
    this.graph.store.setProperty(v, kv.slice(0, eq), kv.slice(eq + 1));
  }

  #getProperty(args: string[], res: CommandOutput): void {
    if (args.length !== 2) {
      res.err += 'ERROR: malformed command\n';
      return;
    }
    const v = this.#path(args[1]);
    if (v < 0) {
      res.out += `Could not find path ${args[1]!} in resource graph.\n`;
      return;
    }
    const props = this.graph.store.props.get(v);
    if (props === undefined || props.size === 0) {
      res.out += `No properties were found for ${args[1]!} (vtx's uniq_id=${v}).\n`;
      return;
    }
    for (const k of [...props.keys()].sort()) res.out += `${k}=${props.get(k)!}\n`;
  }

  #setStatus(args: string[], res: CommandOutput): void {
    if (args.length !== 3) {
      res.err += 'ERROR: malformed command: use set-status PATH up|down|drained\n';
      return;
    }
    const v = this.#path(args[1]);
    if (v < 0) {
      res.out += `Could not find path ${args[1]!} in resource graph.\n`;
      return;
    }
    this.graph.setStatus(v, args[2] as VertexStatus);
  }

  #getStatus(args: string[], res: CommandOutput): void {
    const v = this.#path(args[1]);
    if (v < 0) {
      res.out += `Could not find path ${args[1] ?? ''} in resource graph.\n`;
      return;
    }
    res.out += `${args[1]!} is ${statusName(this.graph.store.status[v]!)}\n`;
  }
}

/** Nodes a request needs in total (as Fluxion's pre-check counts them). */
function nodesNeeded(reqs: readonly Req[], nodeT: number): number {
  let n = 0;
  for (const r of reqs) {
    if (r.t === nodeT) n += r.min;
    const i = r.needT.indexOf(nodeT);
    if (i >= 0) n += r.min * r.needA[i]!;
  }
  return n;
}

function hasUnknownType(reqs: readonly Req[]): boolean {
  return reqs.some((r) => r.t === UNKNOWN_TYPE || hasUnknownType(r.with));
}
