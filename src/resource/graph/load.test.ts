import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FractalError } from '../../errors/index.js';
import {
  GraphStore,
  ResourceGraph,
  detectGraphFormat,
  discoverLocal,
  graphToJgf,
  loadConfigText,
  loadGraphText,
  loadGrug,
  loadJgf,
  loadRv1,
  loadSlurmConf,
  rv1WithGraph,
  syntheticGraph,
} from './index.js';
import { TINY_GRUG, fluxSchedFile, makeJob } from './test-helpers.js';

function throwsInvalid(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof FractalError && e.code === 'EINVAL' && re.test(e.message));
}

function shape(g: GraphStore): string[] {
  return g.subtree(g.root).map((v) => `${g.path(v)}|${g.typeOf(v)}|${g.id[v]}|${g.rankOf(v)}|${g.size[v]}${g.unitOf(v)}`);
}

void test('GRUG: the tiny recipe expands as Fluxion does (names, ids, ranks, sizes)', () => {
  const g = loadGrug(TINY_GRUG);
  assert.equal(g.count, 1 + 1 + 2 + 4 + 72 + 4 + 16);
  assert.equal(g.byPath('/tiny0/rack0/node1/socket1/core35') >= 0, true, 'core ids are per node (id_scope 1)');
  assert.equal(g.byPath('/tiny0/rack0/node1/socket1/memory7') >= 0, true);
  const n1 = g.byPath('/tiny0/rack0/node1');
  assert.equal(g.rank[n1], 1);
  assert.equal(g.rankOf(g.byPath('/tiny0/rack0/node1/socket0/core3')), 1);
  assert.equal(g.size[g.byPath('/tiny0/rack0/node0/socket0/memory0')], 2);
  assert.equal(g.unitOf(g.byPath('/tiny0/rack0/node0/socket0/memory0')), 'GB');
  // Children in recipe order: cores, then gpu, then memory.
  const s0 = g.byPath('/tiny0/rack0/node0/socket0');
  assert.deepEqual(g.children(s0).map((c) => g.typeOf(c)).filter((t, i, a) => a.indexOf(t) === i), ['core', 'gpu', 'memory']);
  throwsInvalid(() => loadGrug('<graphml></graphml>'), /no <graph> element/);
});

void test('GRUG with other subsystems: power vertices and edges live beside containment', () => {
  const text = fluxSchedFile('grugs/power.graphml');
  if (text === undefined) return;
  const g = loadGrug(text);
  const power = g.aux.get('power');
  assert.ok(power !== undefined && power.out.size > 0);
  const gr = new ResourceGraph(g);
  assert.deepEqual(gr.checkAggregates(), []);
  assert.equal(gr.match(makeJob().nodes(2).cores(1).build()).outcome, 'ALLOCATED');
});

void test('JGF: Fluxion\'s tiny.json gives the same graph as the tiny GRUG; write → read round-trips', () => {
  const grug = loadGrug(TINY_GRUG);
  const text = fluxSchedFile('jgfs/tiny.json');
  if (text !== undefined) assert.deepEqual(shape(loadJgf(JSON.parse(text))), shape(grug));
  const again = loadJgf(JSON.parse(JSON.stringify(graphToJgf(grug))));
  assert.deepEqual(shape(again), shape(grug));
  throwsInvalid(() => loadJgf({ graph: { nodes: [{ id: 1, metadata: {} }] } }), /metadata.type/);
  throwsInvalid(
    () => loadJgf({ graph: { nodes: [{ id: 1, metadata: { type: 'a' } }, { id: 2, metadata: { type: 'b' } }], edges: [] } }),
    /roots/,
  );
});

void test('R as a graph: ranks become nodes with their cores and GPUs', () => {
  const g = loadRv1({ version: 1, execution: { R_lite: [{ rank: '0-1', children: { core: '0-3', gpu: '0' } }], nodelist: ['fluke[7-8]'], properties: { amd: '1' } } });
  assert.deepEqual(g.children(g.root).map((v) => g.name(v)), ['fluke7', 'fluke8']);
  assert.equal(g.property(g.byPath('/cluster0/fluke8'), 'amd'), '');
  const gr = new ResourceGraph(g);
  const r = gr.match(makeJob().nodes(2).cores(4).gpus(1).build());
  assert.equal(gr.rv1(r.jobid).toJSON().execution.nodelist?.[0], 'fluke[7-8]');
});

void test('config file: hosts, racks, properties, extra vertices, other subsystems', () => {
  const g = loadConfigText(`
cluster: quartz
racks:
  - { name: rack0, hosts: "q[0-1]", properties: { row: a } }
hosts:
  - { hosts: "q[0-2]", sockets: 2, cores: 8, gpus: 2, memory: 64, properties: [a100, "gpu-model=a100"] }
  - { hosts: "big0", ranks: "10", cores: 4 }
vertices:
  - { type: switch, name: "sw[0-1]" }
  - { type: burst_buffer, name: bb0, parent: rack0, size: 1024, unit: GB }
edges:
  - { subsystem: network, from: sw0, to: "q[0-1]" }
`);
  assert.equal(g.name(g.root), 'quartz');
  const q0 = g.byPath('/quartz/rack0/q0');
  assert.ok(q0 >= 0);
  assert.equal(g.byPath('/quartz/q2') >= 0, true, 'hosts not in a rack hang under the cluster');
  assert.equal(g.rank[g.byPath('/quartz/big0')], 10);
  assert.equal(g.property(q0, 'gpu-model'), 'a100');
  assert.equal(g.property(q0, 'a100'), '');
  assert.equal(g.size[g.byPath('/quartz/rack0/bb0')], 1024);
  assert.deepEqual(g.aux.get('network')?.out.get(g.byName('sw0')[0]!), [q0, g.byPath('/quartz/rack0/q1')]);
  const gr = new ResourceGraph(g);
  const r = gr.match(makeJob().nodes(1).cores(8).build(), { constraint: 'row=a' });
  assert.equal(r.outcome, 'ALLOCATED');
  throwsInvalid(() => loadConfigText('hosts: []'), /at least one group/);
  throwsInvalid(() => loadConfigText('hosts: [{hosts: "n[0-1]", cores: 3, sockets: 2}]'), /split evenly/);
  throwsInvalid(() => loadConfigText('hosts: [{hosts: "n0", coars: 3}]'), /hosts\[0\]: unknown key "coars"/);
  throwsInvalid(() => loadConfigText('hosts: [{hosts: "n0"}]\nvertices: [{type: x, parent: nowhere}]'), /no vertex "nowhere"/);
});

void test('slurm.conf: NodeName (with DEFAULT), Gres, Feature, State, PartitionName', () => {
  const g = loadSlurmConf(`
ClusterName=tux
NodeName=DEFAULT Sockets=2 CoresPerSocket=4 ThreadsPerCore=2 RealMemory=64000
NodeName=tux[1-3] Gres=gpu:a100:2 Feature=ib,ssd
NodeName=fat1 CPUs=16 ThreadsPerCore=1 Sockets=1 CoresPerSocket=16 State=DRAIN
PartitionName=debug Nodes=tux[1-2] Default=YES
PartitionName=all Nodes=ALL
`);
  assert.equal(g.name(g.root), 'tux');
  const t1 = g.byPath('/tux/tux1');
  assert.equal(g.children(t1).length, 2);
  assert.equal(g.subtree(t1).filter((v) => g.typeOf(v) === 'core').length, 8);
  assert.equal(g.subtree(t1).filter((v) => g.typeOf(v) === 'gpu').length, 2);
  assert.equal(g.property(t1, 'gpu-model'), 'a100');
  assert.equal(g.property(t1, 'debug'), '');
  assert.equal(g.property(g.byPath('/tux/tux3'), 'debug'), undefined);
  assert.equal(g.property(g.byPath('/tux/fat1'), 'all'), '');
  assert.equal(g.status[g.byPath('/tux/fat1')], 2);
  const gr = new ResourceGraph(g);
  assert.equal(gr.match(makeJob().nodes(1).cores(16).build()).outcome, 'BUSY', 'fat1 is drained');
  assert.equal(gr.match(makeJob().nodes(2).cores(1).build(), { constraint: 'debug' }).outcome, 'ALLOCATED');
  throwsInvalid(() => loadSlurmConf('PartitionName=x Nodes=a'), /no NodeName/);
});

void test('local discovery from a fake /sys: sockets, physical cores, memory, GPUs', () => {
  const files: Record<string, string> = {
    '/proc/meminfo': 'MemTotal:       16384000 kB\n',
    '/sys/devices/system/node/node0/cpulist': '0-3',
    '/sys/class/drm/card0/device/vendor': '0x10de',
  };
  const cpus = ['cpu0', 'cpu1', 'cpu2', 'cpu3', 'cpufreq'];
  // Two packages, one core each with two hyperthreads.
  [0, 1, 2, 3].forEach((i) => {
    files[`/sys/devices/system/cpu/cpu${i}/topology/physical_package_id`] = String(i % 2);
    files[`/sys/devices/system/cpu/cpu${i}/topology/core_id`] = '0';
  });
  const dirs: Record<string, string[]> = { '/sys/devices/system/cpu': cpus, '/sys/devices/system/node': ['node0', 'possible'], '/sys/class/drm': ['card0', 'renderD128'] };
  const g = discoverLocal({ read: (p) => files[p], list: (p) => dirs[p] ?? [] }, { hostname: 'laptop' });
  const node = g.byPath('/cluster0/laptop');
  assert.equal(g.children(node).length, 2);
  assert.equal(g.subtree(node).filter((v) => g.typeOf(v) === 'core').length, 2);
  assert.equal(g.subtree(node).filter((v) => g.typeOf(v) === 'gpu').length, 1);
  assert.equal(g.subtree(node).filter((v) => g.typeOf(v) === 'memory').reduce((a, v) => a + g.size[v]!, 0), 14);
});

void test('synthetic graphs and format detection', () => {
  const g = syntheticGraph({ clusters: 2, racksPerCluster: 2, nodesPerRack: 3, socketsPerNode: 2, coresPerSocket: 4, gpusPerSocket: 1, memoryPerSocket: 32 });
  assert.equal(g.typeOf(g.root), 'system');
  assert.equal(g.verticesOfType(g.typeIndex('node')).length, 12);
  assert.equal(g.name(g.verticesOfType(g.typeIndex('node'))[11]!), 'node11');
  assert.equal(detectGraphFormat('x.graphml', ''), 'grug');
  assert.equal(detectGraphFormat('etc/slurm.conf', ''), 'slurm');
  assert.equal(detectGraphFormat('g', '{"graph": {"nodes": []}}'), 'jgf');
  assert.equal(detectGraphFormat('g', '{"version": 1, "execution": {"R_lite": []}}'), 'rv1');
  assert.equal(detectGraphFormat('g', 'NodeName=a CPUs=1'), 'slurm');
  assert.equal(loadGraphText(TINY_GRUG, undefined, 'tiny.graphml').count, 100);
  throwsInvalid(() => loadGraphText('{', 'jgf', 'bad.json'), /not valid JSON/);
});

void test('store: paths, names, removal, and errors', () => {
  const g = new GraphStore();
  const root = g.addVertex({ type: 'cluster', id: 0 }, -1);
  const n = g.addVertex({ type: 'node', name: 'alpha', rank: 3 }, root);
  const c = g.addVertex({ type: 'core', id: 5 }, n);
  assert.equal(g.path(c), '/cluster0/alpha/core5');
  assert.equal(g.byPath('/cluster0/alpha/core5'), c);
  assert.deepEqual(g.byName('alpha'), [n]);
  assert.equal(g.rankOf(c), 3);
  throwsInvalid(() => g.addVertex({ type: 'x' }, -1), /one root/);
  throwsInvalid(() => g.addVertex({ type: '' }, root), /non-empty "type"/);
  throwsInvalid(() => g.addVertex({ type: 'm', size: -1 }, root), /size must be/);
  g.removeSubtree(n);
  assert.equal(g.byPath('/cluster0/alpha'), -1);
  assert.deepEqual(g.children(root), []);
  throwsInvalid(() => g.removeSubtree(root), /cannot remove the root/);
});

void test('R with its graph: a child instance loads exactly the subgraph it was granted', () => {
  const parent = new ResourceGraph(loadGrug(TINY_GRUG), { policy: 'low-id' });
  const r = parent.match(makeJob().nodes(1).cores(4).gpus(1).build());
  const R = rv1WithGraph(parent, r.jobid);
  const wire = JSON.parse(JSON.stringify(R.toJSON())) as unknown;
  const child = new ResourceGraph(loadRv1(wire));
  assert.deepEqual(child.stat().map((s) => `${s.type}:${s.total}`), ['cluster:1', 'rack:1', 'node:1', 'socket:1', 'core:4', 'gpu:1']);
  assert.equal(child.match(makeJob().nodes(1).cores(4).gpus(1).build()).outcome, 'ALLOCATED');
  assert.equal(child.match(makeJob().nodes(1).cores(1).build()).outcome, 'BUSY');
  assert.equal(child.rv1(1).toJSON().execution.R_lite[0]?.children.core, R.toJSON().execution.R_lite[0]?.children.core);
});
