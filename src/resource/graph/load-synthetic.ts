/**
 * Synthetic graphs: clusters × racks × nodes × sockets × cores (+ GPUs and
 * memory per socket), written straight into the typed arrays so that the
 * 1.2 M-vertex benchmark machine builds in well under a second.
 *
 * Ids and ranks: nodes are numbered 0..N-1 across the machine (name
 * node<i>, rank i); cores and GPUs are numbered within their node, as in
 * R (core0-63 on every node).
 */
import { invalid } from '../../errors/index.js';
import { GraphStore } from './store.js';

export interface SyntheticSpec {
  /** Clusters under one root (default 1; with more, the root is a "system" vertex). */
  clusters?: number;
  racksPerCluster: number;
  nodesPerRack: number;
  socketsPerNode?: number;
  coresPerSocket: number;
  /** GPUs per socket (default 0). */
  gpusPerSocket?: number;
  /** One memory pool per socket of this many GB (default none). */
  memoryPerSocket?: number;
  /** Basename of node vertices (default "node"). */
  nodeBasename?: string;
  /** Properties of node i, e.g. i % 2 ? {"gpu-model": "a100"} : undefined. */
  nodeProperties?: (node: number) => Record<string, string> | undefined;
}

function count(v: unknown, name: string, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw invalid(`synthetic graph: ${name} must be an integer >= ${min} (got ${String(v)})`);
  return v;
}

export function syntheticGraph(spec: SyntheticSpec): GraphStore {
  const clusters = count(spec.clusters ?? 1, 'clusters', 1);
  const racks = count(spec.racksPerCluster, 'racksPerCluster', 1);
  const nodes = count(spec.nodesPerRack, 'nodesPerRack', 1);
  const sockets = count(spec.socketsPerNode ?? 1, 'socketsPerNode', 1);
  const cores = count(spec.coresPerSocket, 'coresPerSocket', 0);
  const gpus = count(spec.gpusPerSocket ?? 0, 'gpusPerSocket', 0);
  const mem = spec.memoryPerSocket ?? 0;
  if (!(mem >= 0)) throw invalid(`synthetic graph: memoryPerSocket must be >= 0 (got ${String(mem)})`);
  const perSocket = 1 + cores + gpus + (mem > 0 ? 1 : 0);
  const perNode = 1 + sockets * perSocket;
  const total = (clusters > 1 ? 1 : 0) + clusters * (1 + racks * (1 + nodes * perNode));
  const g = new GraphStore(total);
  const T = {
    system: clusters > 1 ? g.typeIndexFor('system') : -1,
    cluster: g.typeIndexFor('cluster'),
    rack: g.typeIndexFor('rack'),
    node: g.typeIndexFor('node'),
    socket: g.typeIndexFor('socket'),
    core: g.typeIndexFor('core'),
    gpu: gpus > 0 ? g.typeIndexFor('gpu') : -1,
    memory: mem > 0 ? g.typeIndexFor('memory') : -1,
  };
  const B = {
    system: g.intern('system'),
    cluster: g.intern('cluster'),
    rack: g.intern('rack'),
    node: g.intern(spec.nodeBasename ?? 'node'),
    socket: g.intern('socket'),
    core: g.intern('core'),
    gpu: g.intern('gpu'),
    memory: g.intern('memory'),
  };
  const gb = g.intern('GB');
  let root = -1;
  if (clusters > 1) root = g.addRaw(T.system, B.system, 0, -1, 1, -1);
  let nodeIndex = 0;
  let rackIndex = 0;
  for (let c = 0; c < clusters; c++) {
    const cl = g.addRaw(T.cluster, B.cluster, c, -1, 1, root);
    for (let r = 0; r < racks; r++) {
      const rk = g.addRaw(T.rack, B.rack, rackIndex++, -1, 1, cl);
      for (let n = 0; n < nodes; n++) {
        const i = nodeIndex++;
        const nd = g.addRaw(T.node, B.node, i, i, 1, rk);
        const props = spec.nodeProperties?.(i);
        if (props !== undefined) {
          const m = new Map(Object.entries(props));
          if (m.size > 0) g.props.set(nd, m);
        }
        for (let s = 0; s < sockets; s++) {
          const so = g.addRaw(T.socket, B.socket, s, -1, 1, nd);
          for (let k = 0; k < cores; k++) g.addRaw(T.core, B.core, s * cores + k, -1, 1, so);
          for (let k = 0; k < gpus; k++) g.addRaw(T.gpu, B.gpu, s * gpus + k, -1, 1, so);
          if (mem > 0) {
            const m = g.addRaw(T.memory, B.memory, s, -1, mem, so);
            g.unit[m] = gb;
          }
        }
      }
    }
  }
  return g;
}
