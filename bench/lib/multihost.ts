/**
 * bench/multihost: an instance across hosts made of Linux network namespaces
 * (src/testing/netns.ts), bootstrapped from one TOML file (`fractal start
 * --config`). Prints a table:
 *
 * - instance start-up: from spawning every host's `fractal start --config`
 *   to rank 0 ready (the whole tree joined, URI printed), p50/max of K runs,
 *   for fan-out 2 and fan-out 16 (one level);
 * - throughput of N single-node `true` jobs spread over the hosts (`fractal
 *   submit --cc -N1` then `fractal wait --all`, from rank 0's host);
 * - memory: VmRSS of rank 0 and the mean of the other brokers, per fan-out.
 *
 * Needs root (network namespaces). Options: --hosts H (8), --jobs N (4000),
 * --samples K (3), --smoke (2 hosts, 20 jobs, 1 sample; figures mean nothing).
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { makeHosts, netnsAvailable, type Hosts } from '../../src/testing/index.js';
import { connect } from '../../src/api/index.js';
import { FRACTAL_BIN, cpuAndGit, fmtMs, fmtRate, median, mib, positiveInt, progress, usageError } from './util.js';

const SCRIPT = 'bench/multihost';
const T0 = Date.now();
const log = (m: string) => progress(T0, m);

function args(): { hosts: number; jobs: number; samples: number; smoke: boolean } {
  const a = process.argv.slice(2);
  const o = { hosts: 8, jobs: 4000, samples: 3, smoke: false };
  for (let i = 0; i < a.length; i++) {
    const k = a[i]!;
    if (k === '--hosts') o.hosts = positiveInt(SCRIPT, a[++i], k);
    else if (k === '--jobs') o.jobs = positiveInt(SCRIPT, a[++i], k);
    else if (k === '--samples') o.samples = positiveInt(SCRIPT, a[++i], k);
    else if (k === '--smoke') Object.assign(o, { hosts: 2, jobs: 20, samples: 1, smoke: true });
    else if (k === '-h' || k === '--help') { process.stdout.write(`Usage: ${SCRIPT} [--hosts H] [--jobs N] [--samples K] [--smoke]\n`); process.exit(0); }
    else usageError(SCRIPT, `unknown option ${k}`);
  }
  if (o.hosts < 2) usageError(SCRIPT, '--hosts must be at least 2');
  return o;
}

function rss(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch { return NaN; }
}

interface Up { ms: number; uri: string; others: ChildProcess[]; dir: string }

/** Starts the instance on every host; resolves when rank 0 printed its URI. */
async function startInstance(net: Hosts, fanout: number, port: number, env: NodeJS.ProcessEnv, base: string): Promise<Up> {
  const dir = mkdtempSync(join(base, 'run-'));
  const conf = join(dir, 'fractal.toml');
  writeFileSync(conf, `[bootstrap]\ndefault_port = ${port}\ndefault_bind = "tcp://eth0:%p"\ndefault_connect = "tcp://%h:%p"\ntls_dir = "${join(base, 'tls')}"\nfanout = ${fanout}\nhosts = [ { host = "node[0-${net.hosts.length - 1}]" } ]\n`);
  const t0 = performance.now();
  const others = net.hosts.slice(1).map((h, i) => h.spawn([process.execPath, FRACTAL_BIN, 'start', '--config', conf, '--state-dir', join(dir, `s${i + 1}`)], { env, stdio: 'ignore' }));
  const r = await net.hosts[0]!.run([process.execPath, FRACTAL_BIN, 'start', '--config', conf, '--state-dir', join(dir, 's0'), '--daemon'], { env, timeoutMs: 300000 });
  const ms = performance.now() - t0;
  if (r.code !== 0) throw new Error(`rank 0 did not start: ${r.stderr.trim()}`);
  return { ms, uri: r.stdout.trim().split('\n').pop()!, others, dir };
}

async function stop(up: Up): Promise<void> {
  const f = await connect(up.uri);
  await f.shutdown().catch(() => {});
  f.close();
  await Promise.all(up.others.map((c) => new Promise<void>((r) => { if (c.exitCode !== null) r(); else { c.once('exit', () => r()); setTimeout(() => { c.kill('SIGKILL'); r(); }, 30000).unref(); } })));
}

async function main(): Promise<void> {
  const o = args();
  if (!netnsAvailable()) usageError(SCRIPT, 'needs root and iproute2 to make network namespaces (ip netns add)');
  const base = mkdtempSync(join(tmpdir(), 'fractal-mhbench-'));
  const env: NodeJS.ProcessEnv = { ...process.env, FRACTAL_HOME: join(base, 'home') };
  delete env['FRACTAL_URI'];
  execFileSync(process.execPath, [FRACTAL_BIN, 'keygen', join(base, 'tls')], { env, stdio: 'ignore' });
  const fanouts = o.smoke ? [2] : [2, 16];
  const net = makeHosts(o.hosts);
  const rows: string[][] = [];
  let port = 8100;
  try {
    for (const fanout of fanouts) {
      const times: number[] = [];
      let mem = '';
      for (let s = 0; s < o.samples; s++) {
        log(`fan-out ${fanout}: starting ${o.hosts} hosts (sample ${s + 1}/${o.samples})`);
        const up = await startInstance(net, fanout, port++, env, base);
        times.push(up.ms);
        if (s === 0) {
          const f = await connect(up.uri);
          const pids = await Promise.all(net.hosts.map((_, r) => f.rpc<{ pid: number }>('broker.info', {}, r).then((x) => x.pid)));
          f.close();
          const rs = pids.map(rss);
          mem = `rank 0 ${mib(rs[0]!)} MiB, others mean ${mib(rs.slice(1).reduce((a, b) => a + b, 0) / (rs.length - 1))} MiB`;
        }
        if (s === 0 && fanout === fanouts[0]) {
          log(`${o.jobs} single-node jobs over ${o.hosts} hosts`);
          const t = performance.now();
          const sub = await net.hosts[0]!.run([process.execPath, FRACTAL_BIN, 'submit', '--cc', `1-${o.jobs}`, '--quiet', '-N1', 'true'], { env: { ...env, FRACTAL_URI: up.uri }, timeoutMs: 600000 });
          if (sub.code !== 0) throw new Error(`submit failed: ${sub.stderr}`);
          const w = await net.hosts[0]!.run([process.execPath, FRACTAL_BIN, 'wait', '--all'], { env: { ...env, FRACTAL_URI: up.uri }, timeoutMs: 1800000 });
          const secs = (performance.now() - t) / 1000;
          rows.push([`${o.jobs} single-node jobs (true), ${o.hosts} hosts, fan-out ${fanout}`, `${fmtRate(o.jobs / secs)} jobs/s`, `${secs.toFixed(1)} s, wait exit ${w.code}`]);
        }
        await stop(up);
        rmSync(up.dir, { recursive: true, force: true });
      }
      rows.push([`instance ready, ${o.hosts} hosts, fan-out ${fanout} (spawn of every host's start to rank 0's URI)`, `p50 ${fmtMs(median(times))} ms`, `max ${fmtMs(Math.max(...times))} ms of ${times.length}; target < 1000 ms for 8 hosts (Flux 0.88 here: 1,718 ms for 4 brokers on one host)`]);
      rows.push([`broker memory, ${o.hosts} hosts, fan-out ${fanout} (VmRSS, idle after start)`, mem, '']);
    }
  } finally {
    net.cleanup();
    rmSync(base, { recursive: true, force: true });
  }
  const { model, git } = cpuAndGit();
  const w0 = Math.max(...rows.map((r) => r[0]!.length));
  const w1 = Math.max(...rows.map((r) => r[1]!.length));
  const out = [
    `Fractal multi-host benchmark: ${SCRIPT} ${process.argv.slice(2).join(' ')}`.trimEnd(),
    `${new Date().toISOString().slice(0, 19)}Z: ${cpus().length} CPUs (${model}), node ${process.version}, fractal git ${git}; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    'hosts: Linux network namespaces on this machine (one bridge, 10.200.0.x addresses, a hostname each); all share its CPUs',
    '',
    ...rows.map((r) => `${r[0]!.padEnd(w0)}  ${r[1]!.padEnd(w1)}  ${r[2]}`),
  ];
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((e: unknown) => { process.stderr.write(`${SCRIPT}: ${e instanceof Error ? e.message : String(e)}\n`); process.exit(1); });
