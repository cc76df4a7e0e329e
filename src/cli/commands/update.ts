/** `fractal update ID duration=10m urgency=20 name=x`. */
import { durationLimitProblem, parseDuration } from '../../jobspec/index.js';
import { invalid } from '../../errors/index.js';
import { open, jobId } from '../util.js';

export default async function update(args: string[]): Promise<number> {
  const id = jobId(args[0]);
  const pairs = args.slice(1);
  if (pairs.length === 0) throw invalid('give KEY=VALUE updates, e.g. duration=10m urgency=20');
  const updates: Record<string, unknown> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) throw invalid(`"${p}" must look like KEY=VALUE (keys: duration, urgency, name)`);
    const k = p.slice(0, i), v = p.slice(i + 1);
    if (k === 'duration' || k === 'time-limit' || k === 't') {
      // inf means no limit, which a jobspec writes as 0.
      const secs = parseDuration(v);
      const problem = secs === Infinity ? undefined : durationLimitProblem(secs);
      if (problem) throw invalid(`duration=${v}: ${problem}`);
      updates['duration'] = secs === Infinity ? 0 : secs;
    }
    else if (k === 'urgency') {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 31) throw invalid(`urgency must be 0-31 (got "${v}")`);
      updates['urgency'] = n;
    } else if (k === 'name') updates['name'] = v;
    else throw invalid(`cannot update "${k}": updatable keys are duration, urgency, name`);
  }
  const f = await open();
  await f.update(id, updates);
  f.close();
  return 0;
}
