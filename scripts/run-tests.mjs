#!/usr/bin/env node
// Runs every compiled test (unit tests beside the code in dist/src, integration
// tests in dist/test) with Node's built-in runner. Arguments filter by path
// substring: `node scripts/run-tests.mjs idset broker`.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}
const filters = process.argv.slice(2);
const roots = ['dist/src', 'dist/test'].filter((d) => existsSync(d));
let files = roots.flatMap((d) => walk(d, [])).sort();
if (filters.length) files = files.filter((f) => filters.some((s) => f.includes(s)));
const r = spawnSync(process.execPath, [
  '--test',
  `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`,
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  '--test-reporter=./scripts/summary-reporter.mjs', '--test-reporter-destination=stdout',
  ...files,
], { stdio: 'inherit' });
process.exit(r.status ?? 1);
