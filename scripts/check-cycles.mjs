#!/usr/bin/env node
// Fails when the import graph of src/ has a cycle between areas (src/<area>/),
// or when an area imports another area's internals instead of its index.ts.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, dirname, resolve, relative } from 'node:path';

const root = resolve('src');
const files = [];
(function walk(d) { for (const n of readdirSync(d)) { const p = join(d, n); statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') && files.push(p); } })(root);
const areaOf = (f) => { const rel = relative(root, f).split('/'); return rel[0] === 'modules' ? rel.slice(0, 2).join('/') : rel[0]; };
const edges = new Map();
const problems = [];
for (const f of files) {
  const src = readFileSync(f, 'utf8');
  for (const m of src.matchAll(/(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/g)) {
    const target = resolve(dirname(f), m[1]).replace(/\.js$/, '.ts');
    const a = areaOf(f), b = areaOf(target);
    if (a === b || f.endsWith('.test.ts')) continue;
    if (!target.endsWith('/index.ts')) problems.push(`${relative(root, f)} imports ${m[1]}: import the area's index.ts instead`);
    if (!edges.has(a)) edges.set(a, new Set());
    edges.get(a).add(b);
  }
}
const state = new Map();
function dfs(a, path) {
  state.set(a, 1);
  for (const b of edges.get(a) ?? []) {
    if (state.get(b) === 1) problems.push(`area cycle: ${[...path, a, b].join(' -> ')}`);
    else if (!state.has(b)) dfs(b, [...path, a]);
  }
  state.set(a, 2);
}
for (const a of edges.keys()) if (!state.has(a)) dfs(a, []);
if (problems.length) { console.error(problems.join('\n')); process.exit(1); }
console.log(`import graph ok: ${files.length} files, ${edges.size} areas, no cycles`);
