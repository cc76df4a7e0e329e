/**
 * `fractal submit`: one job, or with --cc one per id of an idset. Bulk
 * submissions are pipelined (many requests in flight on one connection);
 * --progress draws a bar with the submit rate, and with --wait a second one
 * as jobs finish.
 */
import { IdSet } from '../../resource/index.js';
import { invalid } from '../../errors/index.js';
import type { Fractal } from '../../api/index.js';
import { constraintsOption, jobspecFromOptions, urgencyOpt } from '../jobopts.js';
import { open } from '../util.js';
import { safeLines, safeText } from '../safe-text.js';
import { Progress } from '../progress.js';

const WINDOW = 512;

/** Copies per request when one jobspec is submitted many times (no {cc} in the command). */
const BATCH = 500;

/**
 * Copies one `--cc` may ask for: an instance queues at most 100,000 active
 * jobs by default (job-manager.max-jobs), so a larger range is a typo
 * (`--cc=1-2000000`); refused before anything is built or sent.
 */
export const MAX_CC = 100000;

/** The instance refused for its job limit: the rest of a bulk submission would be refused too. */
const full = (e: unknown): boolean => (e as { code?: string }).code === 'EBUSY';

function ccIds(spec: string): number[] {
  let set: IdSet;
  try {
    set = IdSet.parse(spec);
  } catch (e) {
    throw invalid(`--cc "${spec}": ${(e as Error).message}`);
  }
  if (set.size > MAX_CC) throw invalid(`--cc "${spec}" asks for ${set.size} jobs; at most ${MAX_CC} per command (submit in several commands if you really mean it)`);
  if (set.size === 0) throw invalid('--cc needs at least one id, e.g. --cc=1-10');
  return set.toArray();
}

export default async function submit(args: string[], opts: Record<string, unknown>): Promise<number> {
  const ccs = opts['cc'] !== undefined ? ccIds(String(opts['cc'])) : [undefined];
  const showProgress = !!opts['progress'];
  // Without {cc} every copy is the same job: build it once and send it in batches.
  const same = ccs.length > 1 && !args.some((a) => a.includes('{cc}'));
  const constraints = await constraintsOption(opts);
  const specs = same ? [jobspecFromOptions(args, opts, undefined, constraints)] : ccs.map((cc) => jobspecFromOptions(args, opts, cc, constraints));
  const uopts = urgencyOpt(opts);
  const f = await open();
  const bar = showProgress ? new Progress('submit', ccs.length) : undefined;
  const ids: number[] = [];
  const errors: string[] = [];
  const report = (got: number[]) => {
    ids.push(...got);
    if (!opts['quiet'] && got.length) process.stdout.write(got.join('\n') + '\n');
    bar?.tick(got.length);
  };
  let next = 0;
  const worker = same
    ? async () => {
      while (next < ccs.length) {
        const n = Math.min(BATCH, ccs.length - next);
        next += n;
        try {
          report(await f.submitMany(specs[0], n, uopts));
        } catch (e) {
          errors.push((e as Error).message);
          bar?.tick(n);
          if (full(e)) next = ccs.length;
        }
      }
    }
    : async () => {
      while (next < specs.length) {
        const i = next++;
        try {
          report([await f.submit(specs[i], uopts)]);
        } catch (e) {
          errors.push((e as Error).message);
          bar?.tick(1);
          if (full(e)) next = specs.length;
        }
      }
    };
  await Promise.all(Array.from({ length: same ? 4 : Math.min(WINDOW, specs.length) }, worker));
  bar?.done();
  if (errors.length) {
    process.stderr.write(`fractal submit: ${safeLines(errors[0]!)}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}\n`);
    if (ids.length === 0) { f.close(); return 1; }
  }
  let rc = errors.length ? 1 : 0;
  if (opts['wait']) rc = Math.max(rc, await waitFor(f, ids, showProgress));
  f.close();
  return rc;
}

async function waitFor(f: Fractal, ids: number[], showProgress: boolean): Promise<number> {
  const bar = showProgress ? new Progress('wait', ids.length) : undefined;
  let failed = 0;
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const r = await f.wait(ids[next++]!);
      if (!r.success) {
        failed++;
        if (!bar) process.stderr.write(`job ${r.id}: ${r.result}${r.errstr ? ': ' + safeText(r.errstr) : ''}\n`);
      }
      bar?.tick();
    }
  };
  await Promise.all(Array.from({ length: Math.min(WINDOW, ids.length) }, worker));
  bar?.done();
  if (failed && bar) process.stderr.write(`${failed} of ${ids.length} jobs failed\n`);
  return failed ? 1 : 0;
}
