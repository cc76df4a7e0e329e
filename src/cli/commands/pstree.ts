/**
 * `fractal pstree [--level N] [--json] [--ascii]`: the tree of instances from
 * the current one (or `-r JOBPATH`), each with its size and jobs by state.
 * Children are the running jobs whose nested instance recorded its URI; one
 * that does not answer (it has just ended, or is starting) is shown as such.
 */
import { intOpt } from '../util.js';
import { safeJson } from '../safe-text.js';
import { openStart, utf8Locale } from '../instance-view.js';
import { drawTree, walk } from '../tree-view.js';

/** Bound on one instance's answer: generous, a loaded machine answers slowly, a dead one at once. */
const TIMEOUT_MS = 30_000;

export default async function pstree(_args: string[], opts: Record<string, unknown>): Promise<number> {
  const levels = intOpt(opts['level'], '--level', 1) ?? Infinity;
  const { f, label, prefix } = await openStart(opts);
  let tree;
  try {
    tree = await walk(f, label, prefix, { levels, timeoutMs: TIMEOUT_MS });
  } finally {
    f.close();
  }
  if (opts['json']) {
    process.stdout.write(safeJson(tree) + '\n');
    return 0;
  }
  const ascii = opts['ascii'] === true || !utf8Locale();
  process.stdout.write(drawTree(tree, ascii).join('\n') + '\n');
  return 0;
}
