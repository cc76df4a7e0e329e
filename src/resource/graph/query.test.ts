import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResourceGraph, ResourceQuery, loadGrug, parseQueryPolicy } from './index.js';
import type { QueryFormat } from './index.js';
import { TINY_GRUG, fluxSchedFile, jobspec, res, slot } from './test-helpers.js';

function session(format: QueryFormat, policy = 'high', files: Record<string, unknown> = {}): (line: string) => { out: string; err: string } {
  const q = new ResourceQuery(new ResourceGraph(loadGrug(TINY_GRUG)), {
    policy: parseQueryPolicy(policy),
    format,
    timing: false,
    readJobspec: (p) => {
      if (!(p in files)) throw new Error('no such file');
      return files[p];
    },
    clock: () => 0,
  });
  return (line) => q.execute(line);
}

const one = jobspec([res('cluster', 1, res('rack', 1, res('node', 1, slot(1, res('socket', 1, res('core', 1))))))]);

void test('native output: one line per outcome, then R as one JSON line', () => {
  const run = session('rv1', 'high-id', { 'a.yaml': one, 'big.yaml': jobspec([slot(1, res('core', 99))]) });
  const r1 = run('match allocate a.yaml');
  const [head, json] = r1.out.trim().split('\n');
  assert.equal(head, 'JOBID=1 ALLOCATED START=0 END=3600');
  assert.deepEqual(JSON.parse(json!), { version: 1, execution: { R_lite: [{ rank: '1', children: { core: '35' } }], nodelist: ['node1'], expiration: 3600 } });
  assert.match(run('match allocate big.yaml').out, /^JOBID=2 UNSATISFIABLE: .*core\[99\]/);
  assert.equal(run('match satisfiability a.yaml').out, 'SATISFIABLE\n');
  assert.match(run('info 1').out, /^JOBID=1 ALLOCATED START=0 END=3600 VERTICES=5 JOBSPEC=a.yaml/);
  assert.equal(run('cancel 1').out, 'JOBID=1 CANCELED\n');
  assert.match(run('cancel 1').err, /nonexistent job 1/);
  assert.match(run('stat').out, /core: total=72 allocated=0 free=72/);
  assert.match(run('match allocate missing.yaml').err, /can't open missing.yaml/);
  assert.match(run('frobnicate').err, /unknown command "frobnicate"/);
  assert.equal(run('# comment').out, '');
  assert.equal(session('rv1')('quit').out, '');
});

void test('JGF output lists the vertices and containment edges of the allocation', () => {
  const run = session('jgf', 'low-id', { 'a.yaml': one });
  const lines = run('match allocate a.yaml').out.trim().split('\n');
  const jgf = JSON.parse(lines[1]!) as { graph: { nodes: { metadata: { name: string; exclusive: boolean } }[]; edges: unknown[] } };
  assert.deepEqual(jgf.graph.nodes.map((n) => `${n.metadata.name}:${n.metadata.exclusive}`).sort(), ['core0:true', 'node0:false', 'rack0:false', 'socket0:true', 'tiny0:false']);
  assert.equal(jgf.graph.edges.length, 4);
});

void test('Fluxion format reproduces basics/001 (tiny, high policy)', () => {
  const want = fluxSchedFile('expected/basics/001.R.out');
  if (want === undefined) return;
  const run = session('simple', 'high', { 'a.yaml': one });
  let out = '';
  for (let i = 0; i < 4; i++) out += run('match allocate a.yaml').out;
  assert.equal(out, want);
});

void test('set-property / get-property as Fluxion prints them', () => {
  const run = session('simple');
  assert.equal(run('set-property /tiny0/rack0/node0 class=1').out, '');
  assert.equal(run('get-property /tiny0/rack0/node0').out, 'class=1\n');
  assert.match(run('set-property /tiny0/rack0/node0 =x').out, /Incorrect input format/);
  assert.match(run('set-property /nope a=b').out, /Couldn't find path \/nope/);
  assert.match(run('get-property /tiny0/rack0/node1').out, /No properties were found for \/tiny0\/rack0\/node1/);
  run('set-status /tiny0/rack0/node1 down');
  assert.equal(run('get-status /tiny0/rack0/node1').out, '/tiny0/rack0/node1 is down\n');
});

void test('policy names: Fractal\'s, and Fluxion\'s mapped onto them', () => {
  assert.deepEqual(parseQueryPolicy('pack'), { policy: 'pack', nodeExclusive: false, strict: false });
  assert.deepEqual(parseQueryPolicy('lonodex'), { policy: 'low-id', nodeExclusive: true, strict: true });
  assert.throws(() => parseQueryPolicy('best'), /unknown match policy "best"/);
});
