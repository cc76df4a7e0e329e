/** `fractal job validate FILE...`: exit 0 when every jobspec is valid; one message per invalid file. */
import { validateFiles } from '../../jobspec/index.js';
import { invalid } from '../../errors/index.js';
import { safeLines, safeText } from '../safe-text.js';

export default async function jobValidate(args: string[], opts: Record<string, unknown>): Promise<number> {
  const schema = String(opts['schema'] ?? 'any');
  if (schema !== 'any' && schema !== 'canonical' && schema !== 'v1') throw invalid(`--schema must be any, canonical or v1 (got "${schema}")`);
  const results = await validateFiles(args, { version: schema });
  let bad = 0;
  for (const r of results) {
    if (r.ok) process.stdout.write(`${safeText(r.path)}: valid\n`);
    else {
      bad++;
      process.stderr.write(`${safeText(r.path)}: ${safeLines(r.error ?? '')}\n`);
    }
  }
  return bad ? 1 : 0;
}
