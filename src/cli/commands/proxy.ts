/**
 * `fractal proxy JOBPATH [COMMAND...]`: a shell (or COMMAND) whose fractal
 * commands reach the nested instance run by that job (FRACTAL_URI set).
 */
import { spawn } from 'node:child_process';
import { resolveJobPath } from '../../api/index.js';
import { invalid } from '../../errors/index.js';
import { instanceEnv, signalExitCode } from '../util.js';
import { jobPathArg } from './uri.js';

export default async function proxy(args: string[]): Promise<number> {
  const path = jobPathArg(args[0]);
  const { instance, uris } = await resolveJobPath(path);
  instance.close();
  const uri = uris[uris.length - 1]!;
  const command = args.length > 1 ? args.slice(1) : [process.env['SHELL'] ?? '/bin/sh'];
  if (args.length === 1 && !process.stdin.isTTY) throw invalid('give a COMMAND to run against the instance (stdin is not a terminal, so no interactive shell)');
  const prog = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env: instanceEnv(uri) });
  const ignore = () => {};
  process.on('SIGINT', ignore);
  return new Promise<number>((r) => {
    prog.on('error', (e) => { process.stderr.write(`fractal proxy: cannot run ${command[0]}: ${e.message}\n`); r(127); });
    prog.on('exit', (c, s) => r(s ? signalExitCode(s) : c ?? 0));
  });
}
