/**
 * `fractal resource-query -L GRAPHFILE [-f grug|jgf|rv1|config|slurm] [-P POLICY]
 * [-F rv1|jgf|simple|pretty_simple] [-t]`: loads a resource graph and runs
 * commands read from stdin (match, cancel, info, stat, quit...), like
 * Fluxion's resource-query. The work is done by the resource library's
 * ResourceQuery; this file reads the files and the clock.
 *
 * `-L synthetic:RACKSxNODESxSOCKETSxCORES[xGPUS]` builds a synthetic graph
 * instead of reading a file (GPUs per socket); `-L local:` discovers this
 * machine (/sys, /proc, nvidia-smi).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { invalid } from '../../errors/index.js';
import { parseJobspecText } from '../../jobspec/index.js';
import {
  GRAPH_FORMATS,
  QUERY_FORMATS,
  ResourceGraph,
  ResourceQuery,
  discoverLocal,
  loadGraphText,
  parseQueryPolicy,
  syntheticGraph,
} from '../../resource/graph/index.js';
import type { GraphFormat, GraphStore, QueryFormat } from '../../resource/graph/index.js';

function synthetic(spec: string): GraphStore {
  const m = /^(\d+)x(\d+)x(\d+)x(\d+)(?:x(\d+))?$/.exec(spec);
  if (!m) throw invalid(`-L synthetic:${spec}: write synthetic:RACKSxNODESxSOCKETSxCORES[xGPUS], e.g. synthetic:128x128x2x32x2`);
  return syntheticGraph({
    racksPerCluster: Number(m[1]),
    nodesPerRack: Number(m[2]),
    socketsPerNode: Number(m[3]),
    coresPerSocket: Number(m[4]),
    gpusPerSocket: Number(m[5] ?? 0),
  });
}

/** This machine's resources; GPUs from nvidia-smi when it is installed. */
function local(): GraphStore {
  const smi = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8' });
  const gpus = smi.status === 0 ? smi.stdout.split('\n').filter((l) => l.startsWith('GPU ')).length : undefined;
  return discoverLocal(
    {
      read: (p) => {
        try {
          return readFileSync(p, 'utf8');
        } catch {
          return undefined;
        }
      },
      list: (p) => {
        try {
          return readdirSync(p);
        } catch {
          return [];
        }
      },
    },
    { hostname: hostname().split('.')[0] ?? 'localhost', ...(gpus === undefined ? {} : { gpus }) },
  );
}

export default async function resourceQuery(_args: string[], opts: Record<string, unknown>): Promise<number> {
  const file = String(opts['load']);
  const format = opts['format'] === undefined ? undefined : String(opts['format']);
  if (format !== undefined && !GRAPH_FORMATS.includes(format as GraphFormat)) {
    throw invalid(`-f ${format}: unknown graph format; use one of ${GRAPH_FORMATS.join(', ')}`);
  }
  const output = String(opts['output'] ?? 'rv1');
  if (!QUERY_FORMATS.includes(output as QueryFormat)) throw invalid(`-F ${output}: unknown output format; use one of ${QUERY_FORMATS.join(', ')}`);
  const policy = parseQueryPolicy(String(opts['policy'] ?? 'first'));
  const timing = opts['timing'] === true;

  const t0 = performance.now();
  let store: GraphStore;
  if (file.startsWith('synthetic:')) store = synthetic(file.slice('synthetic:'.length));
  else if (file === 'local:') store = local();
  else {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw invalid(`-L ${file}: cannot read the graph file (${e instanceof Error ? e.message : String(e)})`);
    }
    store = loadGraphText(text, format as GraphFormat | undefined, file);
  }
  const graph = new ResourceGraph(store, { policy: policy.policy });
  const loadMs = performance.now() - t0;
  if (timing) process.stdout.write(`INFO: GRAPH LOAD TIME=${loadMs.toFixed(3)}ms VERTICES=${store.count}\n`);

  const query = new ResourceQuery(graph, {
    policy,
    format: output as QueryFormat,
    timing,
    readJobspec: (path) => parseJobspecText(readFileSync(path, 'utf8'), path),
    clock: () => performance.now(),
  });
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
  let errors = 0;
  for await (const line of rl) {
    const r = query.execute(line);
    if (r.out !== '') process.stdout.write(r.out);
    if (r.err !== '') {
      errors++;
      process.stderr.write(r.err);
    }
    if (r.quit) break;
  }
  rl.close();
  return errors > 0 ? 1 : 0;
}
