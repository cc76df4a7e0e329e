/**
 * `fractal batch`: submit a script as the initial program of a nested
 * instance on the job's allocation; print the job id. `#FRACTAL:` lines at
 * the top of the script give the same flags as the command line, which wins.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Command } from 'commander';
import { invalid } from '../../errors/index.js';
import { urgencyOpt } from '../jobopts.js';
import { open } from '../util.js';
import { instanceShape } from '../shape.js';
import { instanceJobspec, SCRIPT_PLACEHOLDER } from '../instance-job.js';

/** `#FRACTAL: -N 2 -t 10m` lines of the script's first comment block, split into words as a shell would (quotes, no expansion). */
export function directives(script: string): string[] {
  const out: string[] = [];
  const lines = script.split('\n');
  for (let i = lines[0]?.startsWith('#!') ? 1 : 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    const m = /^#\s*FRACTAL:(.*)$/.exec(line);
    if (m) out.push(...shellWords(m[1]!, i + 1));
    else if (line !== '' && !line.startsWith('#')) break;
  }
  return out;
}

function shellWords(s: string, lineNo: number): string[] {
  const words: string[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s"']+))/gy;
  let cur: string | undefined;
  let m: RegExpExecArray | null;
  let last = 0;
  while ((m = re.exec(s)) !== null && m[0] !== '') {
    if (/^\s/.test(m[0]) && cur !== undefined) { words.push(cur); cur = undefined; }
    cur = (cur ?? '') + (m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2] ?? m[3] ?? '');
    last = re.lastIndex;
  }
  if (cur !== undefined) words.push(cur);
  if (s.slice(last).trim() !== '') throw invalid(`#FRACTAL: directive on line ${lineNo}: unbalanced quote in "${s.trim()}"`);
  return words;
}

const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`);

/** Directive flags under the command line's: a flag given on the command line wins. */
function merge(cli: Command, words: string[]): Record<string, unknown> {
  const opts = cli.opts();
  if (words.length === 0) return opts;
  const d = instanceShape(new Command('#FRACTAL:')).exitOverride().configureOutput({ writeErr: () => {} });
  try {
    d.parse(words, { from: 'user' });
  } catch (e) {
    throw invalid(`#FRACTAL: directive: ${(e as Error).message.replace(/^error: /, '')}`);
  }
  if (d.args.length > 0) throw invalid(`#FRACTAL: directive: unexpected "${d.args[0]}" (directives take only flags, e.g. #FRACTAL: -N 2 -t 10m)`);
  const out: Record<string, unknown> = { ...d.opts() };
  for (const [k, v] of Object.entries(opts)) if (cli.getOptionValueSource(k) === 'cli' || out[k] === undefined) out[k] = v;
  return out;
}

export default async function batch(args: string[], _opts: Record<string, unknown>, cmd: Command): Promise<number> {
  const wrap = !!cmd.opts()['wrap'];
  let script: string;
  let name: string;
  let scriptArgs: string[] = [];
  if (wrap) {
    if (args.length === 0) throw invalid('--wrap needs a command, e.g. fractal batch --wrap hostname');
    script = `#!/bin/sh\n${args.map(quote).join(' ')}\n`;
    name = basename(args[0]!);
  } else if (args.length === 0 || args[0] === '-') {
    if (process.stdin.isTTY) throw invalid('give a batch script (a file, or - to read it from stdin), or a command with --wrap');
    script = readFileSync(0, 'utf8');
    name = 'stdin';
    scriptArgs = args.slice(1);
  } else {
    try {
      script = readFileSync(args[0]!, 'utf8');
    } catch (e) {
      throw invalid(`cannot read the batch script ${args[0]}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    name = basename(args[0]!);
    scriptArgs = args.slice(1);
  }
  if (!script.startsWith('#!')) throw invalid(`${name}: a batch script must start with a "#!" line, e.g. #!/bin/sh (or submit a command with --wrap)`);
  const opts = merge(cmd, directives(script));
  opts['output'] ??= 'fractal-{id}.out';
  opts['jobName'] ??= name;
  const spec = instanceJobspec([SCRIPT_PLACEHOLDER, ...scriptArgs], opts, script);
  const f = await open();
  const id = await f.submit(spec, urgencyOpt(opts));
  process.stdout.write(`${id}\n`);
  f.close();
  return 0;
}
