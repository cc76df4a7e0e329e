/**
 * `fractal start` as a job's task: the brokers of a nested instance are the
 * tasks of their parent's job, one per task (docs/hierarchy.md). Each learns
 * its rank and the instance size from the job's environment, owns exactly
 * the CPUs and GPUs its parent bound the task to, and runs the broker in
 * this process (no second Node.js start). Rank 0 tells the parent its URI
 * (a `memo` event in the parent job's log), runs the initial program, and
 * when that exits stops the instance and exits with the program's code;
 * without a program the instance runs until `fractal shutdown` or cancel.
 */
import type { ChildProcess } from 'node:child_process';
import { linkSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { connect } from '../../api/index.js';
import { ErrorCodes, invalid } from '../../errors/index.js';
import { localUri } from '../../protocol/index.js';
import { restoreServiceEnv, shortRunDir } from '../../service/index.js';
import { brokerLog, runBroker, startError } from '../../broker/index.js';
import { instanceEnv, runProgram } from '../util.js';
import { SCRIPT_PLACEHOLDER } from '../instance-job.js';

/** True when this `fractal start` is a task of a job and should become a broker of a nested instance. */
export function inJob(): boolean {
  return !!process.env['FRACTAL_CHILD_DIR'] && process.env['FRACTAL_TASK_RANK'] !== undefined && process.env['FRACTAL_JOB_SIZE'] !== undefined;
}

/** Unix socket paths are limited to ~100 bytes: deep state directories keep their sockets in a short one. */
function runDirFor(statedir: string, size: number): string {
  if (join(statedir, `overlay-${size}.sock`).length <= 100) return statedir;
  const dir = shortRunDir(statedir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** The overlay key: the first rank to get here writes it whole (link is atomic), every rank reads that one. */
function ensureKey(statedir: string): void {
  const key = join(statedir, 'overlay.key');
  const tmp = `${key}.${process.pid}`;
  writeFileSync(tmp, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  try { linkSync(tmp, key); } catch { /* another rank was first */ } finally { unlinkSync(tmp); }
}

export async function startInJob(initial: string[], attrs: Record<string, string>, fanout: number): Promise<number> {
  restoreServiceEnv();
  let command = initial;
  const env = process.env;
  const rank = Number(env['FRACTAL_TASK_RANK']);
  const size = Number(env['FRACTAL_JOB_SIZE']);
  const parentUri = env['FRACTAL_URI'];
  const jobid = Number(env['FRACTAL_JOB_ID']);
  if (!Number.isInteger(rank) || !Number.isInteger(size) || rank < 0 || rank >= size) {
    throw invalid(`fractal start in a job: FRACTAL_TASK_RANK=${env['FRACTAL_TASK_RANK']} and FRACTAL_JOB_SIZE=${env['FRACTAL_JOB_SIZE']} do not name a rank of the job`);
  }
  const statedir = env['FRACTAL_CHILD_DIR']!;
  mkdirSync(statedir, { recursive: true, mode: 0o700 });
  const rundir = runDirFor(statedir, size);
  if (size > 1) ensureKey(statedir);
  // This rank owns what its parent bound the task to; the instance's policy options come from -o.
  const cpus = (env['FRACTAL_TASK_CPUS'] ?? '').split(',').filter(Boolean);
  const gpus = (env['CUDA_VISIBLE_DEVICES'] ?? '').split(',').filter(Boolean);
  const own: Record<string, string> = { 'gpus-per-rank': String(gpus.length), 'node.gpus': gpus.join(',') };
  if (cpus.length > 0) Object.assign(own, { 'cores-per-rank': String(cpus.length), 'node.cpus': cpus.join(',') });
  if (env['FRACTAL_JOB_EXPIRATION']) own['instance.expiration'] = env['FRACTAL_JOB_EXPIRATION'];
  if (parentUri && Number.isInteger(jobid)) Object.assign(own, { 'parent-uri': parentUri, 'parent-jobid': String(jobid) });
  const log = brokerLog(rank);
  const overlay = (r: number) => localUri(join(rundir, `overlay-${r}.sock`));
  let broker;
  try {
    broker = await runBroker({
      rank, size, rundir, statedir, fanout, attrs: { ...attrs, ...own },
      overlayUri: overlay(rank), ...(rank > 0 ? { parentUri: overlay(Math.floor((rank - 1) / fanout)) } : {}),
    }, log);
  } catch (e) {
    log(`start-up failed: ${startError(e, statedir)}`);
    return 1;
  }
  const stopped = new Promise<void>((r) => { broker.onShutdown = () => r(); });
  // Rank 0 takes the whole instance down (as `fractal shutdown` does); another rank only itself.
  const stop = () => (rank === 0 ? broker.publish('broker.shutdown', {}) : void broker.shutdown());
  let program: ChildProcess | undefined;
  let code = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (program && program.exitCode === null) program.kill(sig);
    else stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  if (rank === 0) {
    const uri = broker.info.uri;
    const wantScript = command[0] === SCRIPT_PLACEHOLDER;
    const greeting = parentUri && Number.isInteger(jobid) ? greetParent(parentUri, jobid, uri, wantScript, log) : Promise.resolve(undefined);
    if (wantScript) {
      // `fractal batch`: the script travels in the parent's jobspec; it runs from this instance's directory.
      const path = join(statedir, 'script');
      try {
        const script = await greeting;
        if (script === undefined) throw new Error('no parent instance (FRACTAL_URI is not set)');
        writeFileSync(path, script, { mode: 0o700 });
        command = [path, ...command.slice(1)];
      } catch (e) {
        process.stderr.write(`fractal batch: cannot get the script of job ${jobid}: ${(e as Error).message}\n`);
        command = [];
        code = 1;
        stop();
      }
    }
    if (command.length > 0) {
      const run = runProgram('start', command, instanceEnv(uri));
      program = run.child;
      code = await run.code;
      stop();
    }
  }
  await stopped;
  // Give queued writes a turn to leave, then exit (open handles of the modules do not hold us).
  setImmediate(() => process.exit(code));
  return code;
}

/**
 * Tells the parent this instance is ready: records its URI in the parent job's log (`memo`), so
 * `fractal uri JOBID` and `-r JOBID` find it, and for `fractal batch` fetches the script from the
 * job's jobspec (`attributes.system.instance.script`), on one connection. A parent that is away
 * (restarting) is tried again every second for a minute.
 */
async function greetParent(parentUri: string, jobid: number, uri: string, wantScript: boolean, log: (m: string) => void): Promise<string | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      const f = await connect(parentUri, { startingTimeoutMs: 60_000 });
      try {
        await f.rpc('job-manager.memo', { id: jobid, memo: { uri } });
        if (!wantScript) return undefined;
        const info = await f.info(jobid);
        const script = (info.jobspec as { attributes?: { system?: { instance?: { script?: unknown } } } }).attributes?.system?.instance?.script;
        if (typeof script !== 'string') throw new Error('its jobspec has no attributes.system.instance.script');
        return script;
      } finally { f.close(); }
    } catch (e) {
      if ((e as { code?: string }).code !== ErrorCodes.CONNECTION || attempt >= 60) {
        log(`could not record this instance's URI in job ${jobid} of its parent: ${(e as Error).message}`);
        if (wantScript) throw e;
        return undefined;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
