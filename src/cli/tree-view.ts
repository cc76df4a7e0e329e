/**
 * The tree of instances for `fractal pstree`: fetched level by level (the
 * children of one instance in parallel), then drawn as text (pure, tested
 * without brokers) or given as JSON.
 */
import type { Fractal } from '../api/index.js';
import { safeText } from './safe-text.js';
import { connectChild, instanceJobs, plural, snapshot, unreachable, withTimeout, type JobCounts } from './instance-view.js';

export interface TreeNode {
  /** Job path from where the command started (`.` for the current instance, `12/5` below it). */
  path: string;
  uri: string;
  nodes?: number;
  cores?: number;
  gpus?: number;
  jobs?: JobCounts;
  /** Set when the instance did not answer (it may have just ended): the other fields are then absent. */
  error?: string;
  children: TreeNode[];
}

export interface WalkOptions {
  /** Levels of instances to show, the first one included (1: only it). Default: all. */
  levels: number;
  /** Bound on each instance's answer. */
  timeoutMs: number;
}

/**
 * Describes the instance behind `f` and, down to `levels`, the instances its
 * running jobs run. Closes every connection it opens (not `f`).
 */
export async function walk(f: Fractal, path: string, prefix: string, o: WalkOptions, level = 1): Promise<TreeNode> {
  const what = path === '.' ? 'the instance' : `the instance of job ${path}`;
  const [snap, kids] = await withTimeout(Promise.all([snapshot(f), level < o.levels ? instanceJobs(f) : Promise.resolve([])]), o.timeoutMs, what);
  const node: TreeNode = {
    path, uri: f.uri, nodes: snap.usage.nodes, cores: snap.usage.cores, gpus: snap.usage.gpus, jobs: snap.jobs, children: [],
  };
  node.children = await Promise.all(kids.map(async (j): Promise<TreeNode> => {
    const childPath = `${prefix}${j.id}`;
    const uri = j.uri!;
    let c: Fractal | undefined;
    try {
      c = await connectChild(uri, o.timeoutMs);
      return await walk(c, childPath, childPath + '/', o, level + 1);
    } catch (e) {
      return { path: childPath, uri, error: unreachable(e), children: [] };
    } finally {
      c?.close();
    }
  }));
  return node;
}

/** `2 nodes 4 cores · 3 run 10 pending 40 done`. */
export function describeNode(n: TreeNode, ascii: boolean): string {
  if (n.error !== undefined || !n.jobs) return n.error ?? 'unknown';
  const size = [plural(n.nodes ?? 0, 'node'), plural(n.cores ?? 0, 'core'), ...(n.gpus ? [plural(n.gpus, 'gpu')] : [])].join(' ');
  return `${size} ${ascii ? '|' : '·'} ${n.jobs.run} run ${n.jobs.pending} pending ${n.jobs.done} done`;
}

/** The tree as lines: children below their parent, joined by box-drawing characters (or ASCII). */
export function drawTree(root: TreeNode, ascii: boolean): string[] {
  const g = ascii
    ? { tee: '|-- ', last: '`-- ', bar: '|   ', gap: '    ', dash: '-' }
    : { tee: '├── ', last: '└── ', bar: '│   ', gap: '    ', dash: '─' };
  const out: string[] = [];
  const line = (n: TreeNode, lead: string): string => `${lead}${safeText(n.path)} ${g.dash} ${describeNode(n, ascii)}`;
  const below = (n: TreeNode, indent: string): void => {
    n.children.forEach((c, i) => {
      const last = i === n.children.length - 1;
      out.push(line(c, indent + (last ? g.last : g.tee)));
      below(c, indent + (last ? g.gap : g.bar));
    });
  };
  out.push(line(root, ''));
  below(root, '');
  return out;
}
