/** Turns submit/run flags into a jobspec (Flux RFC 25), with errors that name the flag. */
import { durationLimitProblem, isValidEnvName, jobspecFromCommand, parseDuration, type Jobspec } from '../jobspec/index.js';
import { invalid } from '../errors/index.js';
import { intOpt, keyValue, setPath } from './util.js';

const DEP_SCHEMES = ['after', 'afterany', 'afterok', 'afternotok'];

/**
 * `--dependency` values, parsed once into {scheme, value} pairs:
 *   afterok:42            one condition (Flux RFC 26 / Slurm)
 *   afterany:10,11        a list of ids for one condition (docs/cli.md)
 *   afterany:10:11        Slurm's form of the same
 *   afterok:10,afterany:11  several conditions, all required (Slurm's ",")
 * The flag may be repeated; every condition must hold.
 */
export function parseDependencies(specs: string[]): { scheme: string; value: string }[] {
  const out: { scheme: string; value: string }[] = [];
  const usage = 'use after, afterany, afterok or afternotok followed by :JOBID, e.g. afterok:42, afterany:10,11 or afterok:10,afterany:11';
  for (const spec of specs) {
    if (spec.includes('?')) throw invalid(`--dependency "${spec}": "?" (any one of several conditions) is not supported; every condition given must hold (separate them with ",")`);
    let scheme: string | undefined;
    for (const raw of spec.split(',')) {
      const part = raw.trim();
      let ids: string[];
      if (/^\d+$/.test(part)) {
        // A bare id continues the previous condition's list.
        if (scheme === undefined) throw invalid(`--dependency "${spec}": "${part}" has no condition before it; ${usage}`);
        ids = [part];
      } else {
        const [name = '', ...rest] = part.split(':');
        if (!DEP_SCHEMES.includes(name)) {
          const hint = name === 'singleton' ? ' ("singleton" is not supported)' : name === 'aftercorr' || name === 'afterburstbuffer' ? ` ("${name}" is a Slurm condition Fractal does not have)` : '';
          throw invalid(`--dependency "${part}"${hint}: ${usage}`);
        }
        if (rest.length === 0 || rest.some((id) => !/^\d+$/.test(id))) throw invalid(`--dependency "${part}": ${name} needs job ids after ":", e.g. ${name}:42 or ${name}:10:11`);
        scheme = name;
        ids = rest;
      }
      for (const id of ids) if (!out.some((d) => d.scheme === scheme && d.value === id)) out.push({ scheme, value: id });
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
