#!/usr/bin/env node
// Runs Fluxion's resource-query test cases (../shared/vectors/flux/flux-sched,
// cases.tsv: graph, options, command file, expected output) through
// `fractal resource-query` and compares the output byte for byte.
//
//   node bench/graph-fluxion-cases.mjs [--vectors DIR] [--filter SET] [--verbose] [--markdown] [--smoke]
//
// --smoke runs the one case of bench/fixtures/fluxion-smoke (Fractal's own
// output, not Fluxion's) so that CI exercises this script without the vectors;
// it exits 1 if a case differs.
//
// Fluxion's options map onto Fractal's: -L/-f/-P are the same, the output
// file (-t FILE) becomes stdout with -F simple (or the case's -F), -S CA
// (containment subsystem) is Fractal's only matching subsystem, and -r
// (reservation depth) has no flag (Fractal tries every future end time).
import { readFileSync, existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : def;
};
const smoke = argv.includes('--smoke');
const vectors = resolve(opt('--vectors', resolve(root, smoke ? 'bench/fixtures/fluxion-smoke' : '../shared/vectors/flux/flux-sched')));
const filter = opt('--filter', undefined);
const verbose = argv.includes('--verbose');
const markdown = argv.includes('--markdown');
const data = resolve(vectors, 't/data/resource');
if (!existsSync(resolve(vectors, 'cases.tsv'))) {
  console.error(`no cases.tsv under ${vectors}; pass --vectors DIR`);
  process.exit(2);
}
const rows = readFileSync(resolve(vectors, 'cases.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => {
  const [set, expected, commands, options, output, filt, upstream] = l.split('\t');
  return { set, expected, commands, options, output, filt, upstream };
});

function translate(options) {
  const words = options.split(/\s+/);
  const args = [];
  let out = 'simple';
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w === '-L') args.push('-L', resolve(data, words[++i]));
    else if (w === '-f') args.push('-f', words[++i]);
    else if (w === '-P') {
      const p = words[++i];
      args.push('-P', p === 'first' ? 'fluxion-first' : p);
    }
    else if (w === '-F') out = words[++i];
    else if (w === '-S' || w === '-r') i++; // see the header comment
  }
  args.push('-F', out);
  return args;
}

function run(row) {
  return new Promise((done) => {
    const args = [resolve(root, 'bin/fractal'), 'resource-query', ...translate(row.options)];
    const input = readFileSync(resolve(data, 'commands', row.set, row.commands), 'utf8').replaceAll('@TEST_SRCDIR@', resolve(vectors, 't'));
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', () => {
      let got = row.output === 'stderr' ? stderr : stdout;
      let want = readFileSync(resolve(data, 'expected', row.set, row.expected), 'utf8');
      if (row.filt === 'uniq_id') {
        got = got.replace(/ \(vtx's uniq_id=\d+\)/g, '');
        want = want.replace(/ \(vtx's uniq_id=\d+\)/g, '');
      }
      done({ ...row, pass: got === want, got, want, stderr });
    });
    child.stdin.end(input);
  });
}

const todo = rows.filter((r) => filter === undefined || r.set === filter);
const results = [];
let next = 0;
async function worker() {
  while (next < todo.length) {
    const row = todo[next++];
    results.push(await run(row));
  }
}
await Promise.all([worker(), worker()]);
results.sort((a, b) => rows.indexOf(a) - rows.indexOf(b));

const bySet = new Map();
for (const r of results) {
  const s = bySet.get(r.set) ?? { pass: 0, total: 0, failed: [] };
  s.total++;
  if (r.pass) s.pass++;
  else s.failed.push(`${r.expected} (${r.commands}, ${r.options.replace(/-L \S+\//, '').replace(/ -S CA/, '')})`);
  bySet.set(r.set, s);
  if (verbose && !r.pass) {
    console.log(`--- FAIL ${r.set}/${r.expected} ${r.commands} ${r.options}`);
    const g = r.got.split('\n');
    const w = r.want.split('\n');
    for (let i = 0; i < Math.max(g.length, w.length); i++) {
      if (g[i] !== w[i]) {
        console.log(`  line ${i + 1}: want ${JSON.stringify(w[i])}\n           got  ${JSON.stringify(g[i])}`);
        break;
      }
    }
    if (r.stderr) console.log(`  stderr: ${r.stderr.split('\n')[0]}`);
  }
}
const total = results.length;
const passed = results.filter((r) => r.pass).length;
if (markdown) {
  console.log('| set | reproduced | differs |\n| --- | --- | --- |');
  for (const [set, s] of bySet) console.log(`| ${set} | ${s.pass}/${s.total} | ${s.failed.join('; ') || '-'} |`);
  console.log(`| **all** | **${passed}/${total}** | |`);
} else {
  for (const [set, s] of bySet) console.log(`${set.padEnd(18)} ${String(s.pass).padStart(3)}/${s.total}${s.failed.length ? `  differs: ${s.failed.join(', ')}` : ''}`);
  console.log(`${'all'.padEnd(18)} ${String(passed).padStart(3)}/${total}`);
}
if (smoke && passed !== total) process.exitCode = 1;
