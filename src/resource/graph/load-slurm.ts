/**
 * slurm.conf as a graph source: `NodeName=` lines (sockets, cores,
 * threads, memory, `Gres=gpu:N`, features, state), `NodeName=DEFAULT`
 * defaults, `PartitionName=` lines (each partition becomes a property of
 * its nodes, as Flux turns queues into properties) and `ClusterName=`.
 * Everything else in the file is ignored.
 */
import { invalid } from '../../errors/index.js';
import { Hostlist } from '../hostlist.js';
import { GraphStore, statusCode } from './store.js';

type Params = Map<string, string>;

/** key=value words of one logical line (keys compared case-insensitively, as Slurm does). */
function params(line: string): Params {
  const out = new Map<string, string>();
  for (const m of line.matchAll(/(\w+)=("[^"]*"|\S*)/g)) out.set(m[1]!.toLowerCase(), m[2]!.replace(/^"|"$/g, ''));
  return out;
}

function num(p: Params, key: string, where: string): number | undefined {
  const v = p.get(key.toLowerCase());
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw invalid(`slurm.conf ${where}: ${key}=${v} must be a number >= 0`);
  return n;
}

function hosts(v: string, where: string): string[] {
  try {
    return Hostlist.parse(v).toArray();
  } catch (e) {
    throw invalid(`slurm.conf ${where}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** GPUs in a Gres= value ("gpu:4", "gpu:a100:2(S:0-1)", "gpu:a100:2,nvme:1") and their model. */
function gpus(gres: string | undefined): { count: number; model: string | undefined } {
  let count = 0;
  let model: string | undefined;
  for (const part of (gres ?? '').split(',')) {
    const f = part.replace(/\(.*\)$/, '').split(':');
    if (f[0] !== 'gpu') continue;
    const n = Number(f[f.length - 1]);
    if (f.length >= 2 && Number.isInteger(n)) {
      count += n;
      if (f.length >= 3) model ??= f[1];
    } else count += 1;
  }
  return { count, model };
}

export function loadSlurmConf(text: string): GraphStore {
  // Join continuation lines, drop comments.
  const lines = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l, i) => ({ text: l.replace(/#.*$/, '').trim(), no: i + 1 }))
    .filter((l) => l.text !== '');
  let cluster = 'cluster';
  const defaults: Params = new Map();
  const nodes: { name: string; p: Params; where: string }[] = [];
  const partitions: { name: string; nodes: string; where: string }[] = [];
  for (const l of lines) {
    const p = params(l.text);
    const where = `line ${l.no}`;
    const nodeName = p.get('nodename');
    const partName = p.get('partitionname');
    if (p.has('clustername') && nodeName === undefined && partName === undefined) cluster = p.get('clustername')!;
    if (nodeName !== undefined) {
      if (nodeName.toUpperCase() === 'DEFAULT') {
        for (const [k, v] of p) if (k !== 'nodename') defaults.set(k, v);
        continue;
      }
      const merged = new Map(defaults);
      for (const [k, v] of p) merged.set(k, v);
      for (const h of hosts(nodeName, where)) nodes.push({ name: h, p: merged, where });
    } else if (partName !== undefined && partName.toUpperCase() !== 'DEFAULT') {
      partitions.push({ name: partName, nodes: p.get('nodes') ?? '', where });
    }
  }
  if (nodes.length === 0) throw invalid('slurm.conf: no NodeName= lines found; describe nodes as NodeName=n[1-4] CPUs=... ');
  const g = new GraphStore(1024);
  const root = g.addVertex({ type: 'cluster', basename: cluster, id: 0, name: cluster }, -1);
  const T = { node: g.typeIndexFor('node'), socket: g.typeIndexFor('socket'), core: g.typeIndexFor('core') };
  const byName = new Map<string, number>();
  nodes.forEach(({ name, p, where }, rank) => {
    if (byName.has(name)) throw invalid(`slurm.conf ${where}: node "${name}" is defined twice`);
    const boards = num(p, 'Boards', where) ?? 1;
    const threads = num(p, 'ThreadsPerCore', where) ?? 1;
    let sockets = num(p, 'Sockets', where) ?? (num(p, 'SocketsPerBoard', where) ?? 1) * boards;
    const cps = num(p, 'CoresPerSocket', where);
    const cpus = num(p, 'CPUs', where) ?? num(p, 'Procs', where);
    let cores: number;
    if (cps !== undefined) cores = sockets * cps;
    else if (cpus !== undefined) cores = Math.max(1, Math.floor(cpus / threads));
    else cores = sockets;
    if (cores % sockets !== 0) sockets = 1;
    const gpu = gpus(p.get('gres'));
    if (gpu.count % sockets !== 0 && gpu.count > 0) sockets = 1;
    const memMB = num(p, 'RealMemory', where) ?? 0;
    const n = g.addRaw(T.node, g.intern('node'), rank, rank, 1, root);
    if (name !== g.defaultName(n)) g.names.set(n, name);
    byName.set(name, n);
    const features = p.get('features') ?? p.get('feature');
    if (features !== undefined) for (const f of features.split(',')) if (f !== '') g.setProperty(n, f, '');
    if (gpu.model !== undefined) g.setProperty(n, 'gpu-model', gpu.model);
    const state = (p.get('state') ?? '').toUpperCase();
    if (state.startsWith('DOWN') || state === 'FAIL') g.status[n] = statusCode('down');
    else if (state.startsWith('DRAIN')) g.status[n] = statusCode('drained');
    for (let s = 0; s < sockets; s++) {
      const so = g.addRaw(T.socket, g.intern('socket'), s, -1, 1, n);
      const c = cores / sockets;
      for (let k = 0; k < c; k++) g.addRaw(T.core, g.intern('core'), s * c + k, -1, 1, so);
      const gp = gpu.count / sockets;
      for (let k = 0; k < gp; k++) g.addRaw(g.typeIndexFor('gpu'), g.intern('gpu'), s * gp + k, -1, 1, so);
      if (memMB > 0) {
        const m = g.addRaw(g.typeIndexFor('memory'), g.intern('memory'), s, -1, Math.floor(memMB / sockets), so);
        g.unit[m] = g.intern('MB');
      }
    }
  });
  for (const part of partitions) {
    const names = part.nodes.toUpperCase() === 'ALL' ? [...byName.keys()] : hosts(part.nodes, part.where);
    for (const h of names) {
      const n = byName.get(h);
      if (n === undefined) throw invalid(`slurm.conf ${part.where}: partition ${part.name} names node "${h}" that has no NodeName= line`);
      g.setProperty(n, part.name, '');
    }
  }
  return g;
}
