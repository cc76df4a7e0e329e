/**
 * Jobs that are whole instances (`fractal batch`, `fractal alloc`): the
 * jobspec that runs `fractal start` as one task per granted node, and the
 * wait for the nested instance to announce its URI (docs/hierarchy.md).
 */
import type { Fractal } from '../api/index.js';
import { FractalError, ErrorCodes, invalid } from '../errors/index.js';
import type { JobEvent } from '../protocol/index.js';
import { jobspecFromOptions } from './jobopts.js';
import { FRACTAL_COMMAND } from './util.js';
import { serviceEnv } from '../service/index.js';

/** Stands for the batch script in the initial program; the nested rank 0 writes the script there. */
export const SCRIPT_PLACEHOLDER = '{{script}}';

/** The jobspec of a nested instance: `fractal start [-o KEY=VAL]... [PROGRAM...]`, one broker per node. */
export function instanceJobspec(program: string[], opts: Record<string, unknown>, script?: string): ReturnType<typeof jobspecFromOptions> {
  const conf: string[] = [];
  for (const kv of opts['conf'] as string[] ?? []) {
    if (!/^[\w.-]+=/.test(kv)) throw invalid(`-o/--conf "${kv}" must look like KEY=VALUE, e.g. -o sched.policy=fcfs`);
    conf.push('-o', kv);
  }
  // -N without -n asks for whole nodes, as in Flux: the instance owns them.
  const shape = opts['nodes'] !== undefined && opts['ntasks'] === undefined ? { ...opts, exclusive: true } : opts;
  const js = jobspecFromOptions([FRACTAL_COMMAND, 'start', ...conf, ...program], shape);
  const sys = js.attributes.system as Record<string, unknown>;
  // The instance's brokers are Fractal's own processes: they start faster without NODE_EXTRA_CA_CERTS and put it back for its programs.
  sys['environment'] = serviceEnv(sys['environment'] as Record<string, string>);
  sys['instance'] = script === undefined ? {} : { script };
  return js;
}

/**
 * Waits until job `id`'s instance records its URI (a `memo` event) and
 * returns it; fails with the job's end if it ends first. `onSlow` is called
 * once if that takes more than a second (the job may wait for resources).
 */
export function waitForInstance(f: Fractal, id: number, onSlow?: () => void): Promise<string> {
  return new Promise((resolve, reject) => {
    let done = false;
    const slow = setTimeout(() => onSlow?.(), 1000);
    const finish = (err: Error | undefined, uri?: string) => {
      if (done) return;
      done = true;
      clearTimeout(slow);
      if (err) reject(err); else resolve(uri!);
    };
    let ended: JobEvent | undefined;
    f.watch(id, (ev) => {
      const uri = ev.context?.['uri'];
      if (ev.name === 'memo' && typeof uri === 'string') finish(undefined, uri);
      if (ev.name === 'exception' && (ev.context?.['severity'] ?? 0) === 0) ended = ev;
    }).then(() => {
      const why = ended ? `${String(ended.context?.['type'])}: ${String(ended.context?.['note'] ?? '')}` : 'see `fractal job eventlog ' + id + '` and its output';
      finish(new FractalError(ErrorCodes.INTERNAL, `job ${id} ended before its instance was ready (${why})`));
    }, (e: unknown) => finish(e as Error));
  });
}
