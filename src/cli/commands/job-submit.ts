/** `fractal job submit FILE`: submit a jobspec written by hand (YAML or JSON). */
import { readFileSync } from 'node:fs';
import { isValidEnvName, parseJobspecText } from '../../jobspec/index.js';
import { invalid } from '../../errors/index.js';
import { open } from '../util.js';
import { urgencyOpt } from '../jobopts.js';

export default async function jobSubmit(args: string[], opts: Record<string, unknown>): Promise<number> {
  const file = args[0]!;
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    throw invalid(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const parsed = parseJobspecText(text, file);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalid(`${file} is not a jobspec: expected a YAML/JSON mapping with version, resources, tasks and attributes (see docs/jobspec.md)`);
  }
  const spec = parsed as Record<string, unknown>;
  // A hand-written jobspec runs where it was submitted from unless it says otherwise.
  const attrs = (spec['attributes'] ??= {}) as Record<string, unknown>;
  const system = (attrs['system'] ??= {}) as Record<string, unknown>;
  system['cwd'] ??= process.cwd();
  if (system['environment'] === undefined) system['environment'] = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => v !== undefined && isValidEnvName(k)));
  const f = await open();
  const id = await f.submit(spec, urgencyOpt(opts));
  process.stdout.write(`${id}\n`);
  f.close();
  return 0;
}
