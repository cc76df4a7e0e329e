/**
 * The fast entry of `fractal start` as a job's task (a broker of a nested
 * instance: start-in-job.ts). bin/fractal loads it, from a code-cached
 * bundle, instead of the whole command line when `fractal start` runs in a
 * job: a nested instance's start-up is on the critical path of every
 * `fractal batch` and `fractal alloc`. It understands the form that
 * `batch` and `alloc` write (`start [-o KEY=VAL]... [--] [PROGRAM...]`);
 * for anything else it returns false and the full CLI runs.
 */
import { FractalError } from '../errors/index.js';
import { inJob, startInJob } from './commands/start-in-job.js';

const FANOUT = 2;

/** The `-o KEY=VAL` attributes and the program, or undefined when `args` needs the full CLI. */
export function parseStart(args: string[]): { attrs: Record<string, string>; program: string[] } | undefined {
  const attrs: Record<string, string> = {};
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') { i++; break; }
    if (!a.startsWith('-')) break;
    if (a !== '-o' && a !== '--setattr') return undefined;
    const kv = args[++i];
    if (kv === undefined || !/^[\w.-]+=/.test(kv)) return undefined;
    const eq = kv.indexOf('=');
    attrs[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return { attrs, program: args.slice(i) };
}

/** Runs the nested broker and returns true, or returns false when the full CLI should handle `args`. */
export function main(args: string[]): boolean {
  const parsed = parseStart(args);
  if (!parsed || !inJob()) return false;
  startInJob(parsed.program, parsed.attrs, FANOUT).then((code) => { process.exitCode = code; }, (e: unknown) => {
    process.stderr.write(`fractal: ${FractalError.from(e).message}\n`);
    process.exit(1);
  });
  return true;
}
