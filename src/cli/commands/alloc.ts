/**
 * `fractal alloc`: a nested instance on a new allocation, with COMMAND (or
 * an interactive shell) talking to it; when COMMAND exits the instance
 * stops and its exit code is ours. As Slurm's salloc, COMMAND runs here, on
 * the machine where alloc was typed, with FRACTAL_URI set to the instance.
 * With --bg the instance stays up and its job id is printed
 * (`fractal -r JOBID shutdown` ends it).
 */
import { basename } from 'node:path';
import { connect } from '../../api/index.js';
import { invalid } from '../../errors/index.js';
import { urgencyOpt } from '../jobopts.js';
import { instanceEnv, open, runProgram } from '../util.js';
import { instanceJobspec, waitForInstance } from '../instance-job.js';

export default async function alloc(args: string[], opts: Record<string, unknown>): Promise<number> {
  const bg = !!opts['bg'];
  if (bg && args.length > 0) throw invalid('--bg starts the instance without a command; run commands in it with `fractal -r JOBID ...`');
  const shell = process.env['SHELL'] ?? '/bin/sh';
  if (!bg && args.length === 0 && !process.stdin.isTTY) throw invalid('give a COMMAND to run in the allocation (stdin is not a terminal, so no interactive shell), or use --bg');
  const command = args.length > 0 ? args : [shell];
  opts['jobName'] ??= bg ? 'alloc' : basename(command[0]!);
  const spec = instanceJobspec([], opts);
  const f = await open();
  const id = await f.submit(spec, urgencyOpt(opts));
  let uri: string;
  try {
    uri = await waitForInstance(f, id, () => process.stderr.write(`fractal alloc: job ${id} is waiting for resources...\n`));
  } catch (e) {
    f.close();
    throw e;
  }
  if (bg) {
    process.stdout.write(`${id}\n`);
    f.close();
    return 0;
  }
  // Ctrl-C reaches COMMAND (same terminal process group); alloc itself waits for it to end.
  const ignore = () => {};
  process.on('SIGINT', ignore);
  const code = await runProgram('alloc', command, { ...instanceEnv(uri), FRACTAL_JOB_ID: String(id) }).code;
  process.off('SIGINT', ignore);
  // Stop the instance and wait for its job to end, so that its resources are free when we return.
  try {
    const child = await connect(uri);
    await child.shutdown().catch(() => {});
    child.close();
  } catch { /* already gone */ }
  await f.watch(id, () => {}).catch(() => {});
  f.close();
  return code;
}
