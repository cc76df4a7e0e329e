/** Turns submit/run flags into a jobspec (Flux RFC 25), with errors that name the flag. */
import { durationLimitProblem, isValidEnvName, jobspecFromCommand, parseDuration, type Jobspec } from '../jobspec/index.js';
import { invalid } from '../errors/index.js';
import { intOpt, keyValue, setPath } from './util.js';

function parseDependencies(specs: string[]): { scheme: string; value: string }[] {
  const out: { scheme: string; value: string }[] = [];
  for (const spec of specs) {
    for (const part of spec.split(',')) {
      const m = /^(after|afterany|afterok|afternotok):(\d+)$/.exec(part.trim());
      if (!m) throw invalid(`--dependency "${part}": use after, afterany, afterok or afternotok followed by :JOBID, e.g. afterok:42`);
      out.push({ scheme: m[1]!, value: m[2]! });
    }
  }
  return out;
}

function parseBeginTime(s: string): number {
  if (s.startsWith('+')) return Date.now() / 1000 + parseDuration(s.slice(1));
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw invalid(`--begin-time "${s}": use +DURATION (e.g. +10m), epoch seconds, or an ISO date like 2026-12-01T08:00`);
  return t / 1000;
}

/** The RFC 31 constraints of a --requires query (the parser lives with the graph, loaded on use). */
export async function constraintsOption(opts: Record<string, unknown>): Promise<Record<string, unknown> | undefined> {
  if (opts['requires'] === undefined) return undefined;
  const { parseConstraintQuery } = await import('../resource/graph/index.js');
  return parseConstraintQuery(String(opts['requires']));
}

/** `constraints`: from constraintsOption(opts), parsed once for all copies. */
export function jobspecFromOptions(command: string[], opts: Record<string, unknown>, cc?: number, constraints?: Record<string, unknown>): Jobspec {
  if (command.length === 0) throw invalid('no command given: e.g. `fractal run -n2 hostname`');
  const cmd = cc === undefined ? command : command.map((a) => a.replaceAll('{cc}', String(cc)));
  const shape = {
    ...(opts['nodes'] !== undefined ? { nnodes: intOpt(opts['nodes'], '-N/--nodes', 1)! } : {}),
    ...(opts['ntasks'] !== undefined ? { ntasks: intOpt(opts['ntasks'], '-n/--ntasks', 1)! } : {}),
    ...(opts['coresPerTask'] !== undefined ? { coresPerTask: intOpt(opts['coresPerTask'], '-c/--cores-per-task', 1)! } : {}),
    ...(opts['gpusPerTask'] !== undefined ? { gpusPerTask: intOpt(opts['gpusPerTask'], '-g/--gpus-per-task', 0)! } : {}),
    ...(opts['exclusive'] ? { exclusive: true } : {}),
  };
  const environment: Record<string, string> = {};
  // Inherited variables whose names a job may not set (see envNameProblem) are left behind; --env names are checked.
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && isValidEnvName(k)) environment[k] = v;
  for (const e of opts['env'] as string[] ?? []) {
    const i = e.indexOf('=');
    if (i <= 0) throw invalid(`--env "${e}" must look like VAR=VALUE`);
    environment[e.slice(0, i)] = e.slice(i + 1);
  }
  const system: Record<string, unknown> = { cwd: opts['cwd'] ? String(opts['cwd']) : process.cwd(), environment };
  if (opts['timeLimit'] !== undefined) {
    const secs = parseDuration(String(opts['timeLimit']));
    const problem = secs === Infinity ? undefined : durationLimitProblem(secs); // inf: no limit
    if (problem) throw invalid(`-t/--time-limit ${String(opts['timeLimit'])}: ${problem}`);
    system['duration'] = secs;
  }
  if (constraints !== undefined) system['constraints'] = constraints;
  if (opts['account'] !== undefined) system['account'] = String(opts['account']);
  if (opts['reservation'] !== undefined) system['reservation'] = String(opts['reservation']);
  if (opts['qos'] !== undefined) system['qos'] = String(opts['qos']);
  if (opts['queue'] !== undefined) system['queue'] = String(opts['queue']);
  if (opts['jobName'] !== undefined) system['job'] = { name: String(opts['jobName']) };
  const deps: { scheme: string; value: string }[] = parseDependencies(opts['dependency'] as string[] ?? []);
  if (opts['beginTime'] !== undefined) deps.push({ scheme: 'begin-time', value: String(parseBeginTime(String(opts['beginTime']))) });
  if (deps.length) system['dependencies'] = deps;
  const shellOptions: Record<string, unknown> = {};
  if (opts['output'] !== undefined) {
    shellOptions['output'] = { stdout: { path: String(opts['output']) }, stderr: { path: String(opts['error'] ?? opts['output']) } };
  } else if (opts['error'] !== undefined) {
    throw invalid('--error needs --output too (stdout must go somewhere): e.g. --output=job-{id}.out --error=job-{id}.err');
  }
  for (const o of opts['setopt'] as string[] ?? []) {
    const [k, v] = keyValue(o, '--setopt');
    shellOptions[k] = v;
  }
  if (Object.keys(shellOptions).length) system['shell'] = { options: shellOptions };
  const js = jobspecFromCommand(cmd, shape, system as Parameters<typeof jobspecFromCommand>[2]) as Jobspec & { attributes: { system: Record<string, unknown> } };
  for (const a of opts['setattr'] as string[] ?? []) {
    const [k, v] = keyValue(a, '--setattr');
    const path = k.startsWith('system.') || k.startsWith('user.') ? k : `system.${k}`;
    setPath(js.attributes as unknown as Record<string, unknown>, path, v);
  }
  return js;
}

export function urgencyOpt(opts: Record<string, unknown>): { urgency?: number } {
  const u = intOpt(opts['urgency'], '--urgency', 0);
  if (u !== undefined && u > 31) throw invalid('--urgency must be 0-31');
  return u === undefined ? {} : { urgency: u };
}
