/** `fractal job validate FILE...`: exit 0 when every jobspec is valid; one message per invalid file. */
import { validateFiles } from '../../jobspec/index.js';

export default async function jobValidate(args: string[]): Promise<number> {
  const results = await validateFiles(args);
  let bad = 0;
  for (const r of results) {
    if (r.ok) process.stdout.write(`${r.path}: valid\n`);
    else {
      bad++;
      process.stderr.write(`${r.path}: ${r.error}\n`);
    }
  }
  return bad ? 1 : 0;
}
