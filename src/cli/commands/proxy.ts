/**
 * `fractal proxy JOBPATH [COMMAND...]`: a shell (or COMMAND) whose fractal
 * commands reach the nested instance run by that job (FRACTAL_URI set).
 */
import { resolveJobPath } from '../../api/index.js';
import { invalid } from '../../errors/index.js';
import { instanceEnv, runProgram } from '../util.js';
import { jobPathArg } from './uri.js';

export default async function proxy(args: string[]): Promise<number> {
  const path = jobPathArg(args[0]);
  const { instance, uris } = await resolveJobPath(path);
  instance.close();
  const uri = uris[uris.length - 1]!;
  const command = args.length > 1 ? args.slice(1) : [process.env['SHELL'] ?? '/bin/sh'];
  if (args.length === 1 && !process.stdin.isTTY) throw invalid('give a COMMAND to run against the instance (stdin is not a terminal, so no interactive shell)');
  // Ctrl-C reaches the program (same terminal process group); proxy waits for it to end.
  process.on('SIGINT', () => {});
  return runProgram('proxy', command, instanceEnv(uri)).code;
}
