/**
 * Benchmarks never rot: every script under bench/ runs in its smoke mode
 * (tiny sizes, seconds, no peers) and must exit 0 and print its table. A new
 * script under bench/ without an entry here fails the first test.
 *
 * The figures of a smoke run mean nothing; only that the script still works
 * against the current code is checked.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, describeResult, ROOT, run } from './helpers.js';
import { netnsAvailable } from '../src/testing/index.js';

const canNetns = netnsAvailable();

interface Bench {
  /** The script, relative to the project root. */
  script: string;
  /** The command line of its smoke mode. */
  argv: string[];
  /** What its table must show. */
  expect: RegExp[];
  /** Runs only where network namespaces can be made (root). */
  needsNetns?: boolean;
}

const node = process.execPath;
const BENCHES: Bench[] = [
  {
    script: 'bench/graph-bench.mjs',
    argv: [node, 'bench/graph-bench.mjs', '--smoke'],
    expect: [/^\| measure +\| Fractal +\| target +\| Fluxion +\| ok +\|$/m, /^\| 1-node allocate\+free cycles per second/m, /all jobs freed\)$/m],
  },
  {
    script: 'bench/graph-fluxion-cases.mjs',
    argv: [node, 'bench/graph-fluxion-cases.mjs', '--smoke'],
    expect: [/^smoke +1\/1$/m, /^all +1\/1$/m],
  },
  {
    script: 'bench/throughput',
    argv: [node, 'bench/throughput', '--smoke'],
    expect: [
      /^figure +Fractal \(this run\) +ratio \/ notes/m,
      /^real exec, 1 broker, N=10 \(end to end\) +[\d.]+ jobs\/s/m,
      /^no-op exec, 1 broker, N=20 \(end to end\) +[\d.]+ jobs\/s/m,
      /^API submit latency p50/m,
      /^instance start-up, 1 broker/m,
      /^slurm: skipped/m,
    ],
  },
  {
    script: 'bench/hierarchy',
    argv: [node, 'bench/hierarchy', '--smoke'],
    expect: [
      /^shape +exec +N +wall s +jobs\/s +vs flat +root peak MiB +leaf peak MiB +root CPU +busy before +result$/m,
      ...['flat +no-op +40', '2 levels \\(\\d+\\) +no-op +40', '3 levels \\(\\d+x1\\) +no-op +40', 'flat +true +8', '2 levels \\(\\d+\\) +true +8', '3 levels \\(\\d+x1\\) +true +8']
        .map((s) => new RegExp(`^${s} +[\\d.]+ +[\\d.]+ +[\\d.]+x +[\\d.]+ +[\\d.]+ +[\\d.]+% +\\d+% +ok$`, 'm')),
      /^batch --wrap true: submit to child ready +2 +[\d.]+ +[\d.]+ /m,
      /^fractal run fractal start true +2 +[\d.]+ +[\d.]+ /m,
    ],
  },
  {
    // Network-namespace hosts: needs root, as the multi-host tests.
    script: 'bench/multihost',
    argv: [node, 'bench/multihost', '--smoke'],
    expect: [/^20 single-node jobs \(true\), 2 hosts, fan-out 2 +[\d.]+ jobs\/s +[\d.]+ s, wait exit 0$/m, /^instance ready, 2 hosts, fan-out 2 .* +p50 \d+ ms/m, /^broker memory, 2 hosts, fan-out 2 .* rank 0 [\d.]+ MiB, others mean [\d.]+ MiB/m],
    needsNetns: true,
  },
  {
    script: 'bench/sched-graph-cycle.ts',
    argv: [node, 'dist/bench/sched-graph-cycle.js', '--smoke'],
    expect: [/^policy +depth +reasons +median ms +max ms +started +reservations$/m, /^conservative +100 +true /m],
  },
  {
    script: 'bench/archive-copy.ts',
    argv: [node, 'dist/bench/archive-copy.js', '--smoke'],
    expect: [/^leaf: 2000 jobs made/m, /^leaf -> middle \(as 1\/N\): +2000 jobs, 20000 events in \d+ ms; peak RSS \d+ MB/m, /^middle -> root \(as 7\/1\/N\): 2000 nested jobs/m],
  },
  {
    script: 'bench/sim-cycle.ts',
    argv: [node, 'dist/bench/sim-cycle.js', '--smoke'],
    expect: [/^policy +reasons +median ms +max ms +started +reservations$/m, /^conservative +false /m],
  },
  {
    script: 'bench/sim-traces.sh',
    argv: ['sh', 'bench/sim-traces.sh', '--smoke'],
    expect: [/^trace +policy +wall s +sim s +max RSS MB$/m, ...['easy', 'fcfs', 'hybrid', 'conservative'].map((p) => new RegExp(`^smoke\\.swf +${p} +[\\d.]+ +[\\d.]+ +\\d+$`, 'm'))],
  },
  {
    script: 'bench/sim-rlscheduler.sh',
    argv: ['sh', 'bench/sim-rlscheduler.sh', '--smoke'],
    expect: [/^\| trace \| FCFS \| FCFS \+ backfilling \| SJF \| SJF \+ backfilling \|$/m, /^\| smoke\.swf( \| [\d.]+){4} \|$/m, /^\| smoke \| SJF \+ backfilling( \| [\d.]+){10} \|$/m],
  },
];

void describe('benchmarks in smoke mode', () => {
  let home: string;
  before(() => {
    home = mkdtempSync(join(tmpdir(), 'frt-bench-'));
  });
  after(() => {
    rmSync(home, { recursive: true, force: true });
  });

  void test('every script under bench/ has a smoke run here', () => {
    // Top-level files only: bench/lib is the throughput benchmark's code, the rest is data.
    const scripts = readdirSync(join(ROOT, 'bench')).filter((n) => statSync(join(ROOT, 'bench', n)).isFile()).map((n) => `bench/${n}`).sort();
    assert.deepEqual(scripts, BENCHES.map((b) => b.script).sort());
  });

  for (const b of BENCHES) {
    // Generous: on a loaded machine a few seconds of work take minutes.
    void test(`${b.script} --smoke prints its table`, { timeout: 600000, skip: b.needsNetns && !canNetns ? 'needs root and iproute2 (network namespaces)' : false }, async () => {
      const env = { ...cleanEnv(), FRACTAL_HOME: home };
      const r = await run(b.argv[0]!, b.argv.slice(1), { cwd: ROOT, env, timeoutMs: 590000 });
      assert.equal(r.code, 0, describeResult(r));
      for (const re of b.expect) assert.match(r.stdout, re, describeResult(r));
    });
  }
});
