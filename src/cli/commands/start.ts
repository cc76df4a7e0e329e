/**
 * `fractal start`: launch the brokers of an instance on this machine (one per
 * rank with --test-size), wait until rank 0 is ready, then either run the
 * initial program and stop the instance when it exits (its exit code is
 * ours), or with --daemon leave the brokers running and print the URI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync, openSync, closeSync, existsSync, unlinkSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { entryPoint, installPath, serviceEnv } from '../../service/index.js';
import { connect, currentInstanceFile } from '../../api/index.js';
import { invalid, FractalError, ErrorCodes } from '../../errors/index.js';
import { loadOverlayTls } from '../../protocol/index.js';
import { intOpt, prepareStateDir, runProgram } from '../util.js';
import type { Command } from 'commander';

const BROKER_MAIN = entryPoint('broker');
const FRACTAL_BIN = installPath('bin');

/** A TCP port that was free a moment ago (the broker binds it right after). */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolvePort(port));
    });
  });
}

async function alreadyRunning(statedir: string): Promise<string | undefined> {
  let uri: string;
  try { uri = readFileSync(join(statedir, 'uri'), 'utf8').trim(); } catch { return undefined; }
  try {
    const f = await connect(uri);
    f.close();
    return uri;
  } catch {
    return undefined;
  }
}

/**
 * The ranks of an instance on this state directory whose brokers still run (they answer on their
 * local socket), with the instance size each reports. After a crash of some brokers, only the
 * others are started again; the survivors re-join them with their jobs (docs/decisions.md, ADR 12).
 */
async function liveRanks(statedir: string, size: number): Promise<Map<number, number>> {
  const live = new Map<number, number>();
  await Promise.all(Array.from({ length: size }, async (_, rank) => {
    const sock = join(statedir, rank === 0 ? 'local.sock' : `local-${rank}.sock`);
    if (!existsSync(sock)) return;
    let f;
    try { f = await connect(`local://${sock}`); } catch { return; } // a stale socket: nobody listens
    try {
      const info = await Promise.race([
        f.rpc<{ size: number }>('broker.info', {}, -2),
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 10000).unref()),
      ]);
      live.set(rank, info?.size ?? size);
    } catch {
      live.set(rank, size); // it answered, if only with an error: it runs
    } finally {
      f.close();
    }
  }));
  return live;
}

/** Waits until rank 0's inventory has every rank up again (the restarted ones registered). */
async function waitAllUp(uri: string, size: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const f = await connect(uri);
      try {
        const st = await f.rpc<{ ranks: { rank: number; up: boolean }[] }>('resource.status', {});
        if (st.ranks.length === size && st.ranks.every((r) => r.up)) return;
      } finally { f.close(); }
    } catch { /* not answering yet */ }
    if (Date.now() > deadline) throw new FractalError(ErrorCodes.TIMEOUT, `the restarted brokers did not join the instance within ${timeoutMs / 1000}s; see the broker-<rank>.log files in the state directory`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Node's flags and the entry of a broker process: a small young generation keeps the broker's RSS
 * low (the extra scavenges cost little at these rates); FRACTAL_BROKER_NODE_ARGS adds flags for
 * developers (e.g. --cpu-prof).
 */
export function brokerNodeArgs(): string[] {
  const extra = (process.env['FRACTAL_BROKER_NODE_ARGS'] ?? '').split(/\s+/).filter(Boolean);
  return ['--max-semi-space-size=2', '--expose-gc', ...extra, BROKER_MAIN];
}

/** The TLS keys a single-user instance makes for its TCP overlay, in its state directory (`fractal keygen`). */
async function instanceKeys(statedir: string): Promise<string> {
  const dir = join(statedir, 'tls');
  const { keygen, KEYGEN_FILES } = await import('./keygen.js');
  if (!KEYGEN_FILES.every(([f]) => existsSync(join(dir, f)))) await keygen(dir, { force: true });
  return dir;
}

export function waitReady(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new FractalError(ErrorCodes.TIMEOUT, `the instance did not become ready within ${timeoutMs / 1000}s`)), timeoutMs);
    const pipe = child.stdio[3] as NodeJS.ReadableStream | null;
    pipe?.setEncoding('utf8');
    let failure: string | undefined;
    pipe?.on('data', (d: string) => {
      buf += d;
      const m = /^ready (\S+)/m.exec(buf);
      if (m) { clearTimeout(timer); resolvePromise(m[1]!); }
      // Rank 0 says why it could not start (e.g. a damaged state database): that line is the error.
      const f = /^error (.+)$/m.exec(buf);
      if (f) failure = f[1]!;
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      // The pipe may still hold the reason: read it to its end before deciding what to say.
      const say = () => reject(failure !== undefined ? new FractalError(ErrorCodes.INTERNAL, failure) : new FractalError(ErrorCodes.INTERNAL, `broker rank 0 exited during start-up (code ${code})`));
      if (failure !== undefined || !pipe || (pipe as NodeJS.ReadableStream & { readableEnded?: boolean }).readableEnded) say();
      else { pipe.once('end', say); setTimeout(say, 1000).unref(); }
    });
  });
}

export default async function start(args: string[], opts: Record<string, unknown>, cmd?: Command): Promise<number> {
  const size = intOpt(opts['testSize'], '--test-size', 1)!;
  const daemon = !!opts['daemon'];
  const fanout = intOpt(opts['fanout'], '--fanout', 1)!;
  const attrs: string[] = [...(opts['setattr'] as string[])];
  const cores = intOpt(opts['coresPerRank'], '--cores-per-rank', 1);
  if (cores !== undefined) attrs.push(`cores-per-rank=${cores}`);
  const gpus = intOpt(opts['gpusPerRank'], '--gpus-per-rank', 0);
  if (gpus !== undefined) attrs.push(`gpus-per-rank=${gpus}`);
  for (const a of attrs) if (!/^[\w.-]+=/.test(a)) throw invalid(`--setattr "${a}" must look like KEY=VALUE`);
  // -o tls-dir=DIR: brokers may run elsewhere than here, so they get an absolute path; bad keys fail now, not in a broker's log.
  for (let i = 0; i < attrs.length; i++) {
    if (!attrs[i]!.startsWith('tls-dir=')) continue;
    const dir = resolve(attrs[i]!.slice('tls-dir='.length));
    loadOverlayTls(dir);
    attrs[i] = `tls-dir=${dir}`;
  }
  if (opts['config'] !== undefined) {
    if (cmd?.getOptionValueSource('testSize') === 'cli') throw invalid('--config and --test-size do not go together: the file\'s [bootstrap] hosts give the size');
    const { default: startFromConfig } = await import('./start-config.js');
    return startFromConfig(String(opts['config']), args, { ...(opts['stateDir'] !== undefined ? { stateDir: String(opts['stateDir']) } : {}), daemon, attrs });
  }
  // As a job's task (`fractal batch`, `fractal run -N2 fractal start`), become a broker of a nested instance.
  const given = (name: string) => cmd?.getOptionValueSource(name) === 'cli';
  if (!given('testSize') && !given('stateDir') && !daemon) {
    const { inJob, startInJob } = await import('./start-in-job.js');
    if (inJob()) return startInJob(args, Object.fromEntries(attrs.map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)])), fanout);
  }

  const persistent = opts['stateDir'] !== undefined;
  // mkdtemp creates its directory 0700; --state-dir never changes the mode of a directory it did not create.
  const statedir = persistent ? prepareStateDir(resolve(String(opts['stateDir']))) : mkdtempSync(join(tmpdir(), 'fractal-'));
  if (join(statedir, `overlay-${size}.sock`).length > 100) throw invalid(`--state-dir path is too long for unix sockets (${statedir.length} chars): use a shorter path`);
  // Brokers that survived a crash of others keep running with their jobs: start only the missing ranks.
  const live = persistent ? await liveRanks(statedir, size) : new Map<number, number>();
  for (const [rank, n] of live) {
    if (n !== size) throw invalid(`broker rank ${rank} of the instance on ${statedir} still runs with --test-size=${n}; restart with --test-size=${n}, or shut it down first`);
  }
  const running = live.has(0) ? await alreadyRunning(statedir) : undefined;
  if (running && live.size === size) throw new FractalError(ErrorCodes.BUSY, `an instance is already running on ${statedir} (URI ${running}); stop it with \`FRACTAL_URI=${running} fractal shutdown\``);
  if (live.has(0) && !running) throw new FractalError(ErrorCodes.BUSY, `broker rank 0 on ${statedir} is still starting or stopping; try again in a moment`);
  if (running && !daemon) throw invalid(`rank 0 of the instance on ${statedir} is running (URI ${running}): use --daemon to restart its missing ranks`);
  if (!running) try { unlinkSync(join(statedir, 'uri')); } catch { /* none */ }

  const env = serviceEnv({ ...process.env, PATH: `${FRACTAL_BIN}:${process.env['PATH'] ?? ''}` });
  // Overlay: unix sockets in the state directory, or TCP on loopback with -o overlay=tcp.
  const overlayTcp = attrs.includes('overlay=tcp');
  // TCP without keys of the user's: the instance makes its own (once per state directory; restarted ranks reuse them).
  if (overlayTcp && size > 1 && !attrs.some((a) => a.startsWith('tls-dir='))) attrs.push(`tls-dir=${await instanceKeys(statedir)}`);
  const overlayUris: string[] = [];
  for (let rank = 0; rank < size; rank++) {
    // A surviving broker keeps the address it published.
    let published: string | undefined;
    if (live.has(rank)) try { published = readFileSync(join(statedir, `overlay-${rank}.uri`), 'utf8').trim(); } catch { /* none */ }
    overlayUris.push(published || (overlayTcp ? `tcp://127.0.0.1:${await freePort()}` : `local://${join(statedir, `overlay-${rank}.sock`)}`));
  }
  // A fresh key for a fresh instance; survivors hold the current one, so it stays.
  if (size > 1 && live.size === 0) writeFileSync(join(statedir, 'overlay.key'), randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  const brokers = new Map<number, ChildProcess>();
  for (let rank = 0; rank < size; rank++) {
    if (live.has(rank)) continue;
    const argv = [...brokerNodeArgs(), '--rank', String(rank), '--size', String(size), '--rundir', statedir, '--statedir', statedir, '--fanout', String(fanout)];
    argv.push('--overlay-uri', overlayUris[rank]!);
    if (rank > 0) argv.push('--parent-uri', overlayUris[Math.floor((rank - 1) / fanout)]!);
    for (const a of attrs) argv.push('--attr', a);
    if (rank === 0) argv.push('--ready-fd', '3');
    let out: number | 'inherit' = 'inherit';
    if (daemon) out = openSync(join(statedir, `broker-${rank}.log`), 'a');
    const child = spawn(process.execPath, argv, { stdio: ['ignore', out, out, rank === 0 ? 'pipe' : 'ignore'], detached: daemon, env });
    if (typeof out === 'number') closeSync(out);
    brokers.set(rank, child);
  }
  let uri: string;
  try {
    let ready = false;
    const earlyExit = [...brokers].filter(([rank]) => rank > 0).map(([rank, b]) => new Promise<never>((_, reject) => b.once('exit', (code) => !ready && reject(new FractalError(ErrorCodes.INTERNAL, `broker rank ${rank} exited during start-up (code ${code})${daemon ? `; see ${join(statedir, `broker-${rank}.log`)}` : ''}`)))));
    const rank0 = brokers.get(0);
    const up = rank0 ? waitReady(rank0, 30000) : waitAllUp(running!, size, 30000).then(() => running!);
    uri = await Promise.race([up, ...earlyExit]);
    ready = true;
  } catch (e) {
    for (const b of brokers.values()) b.kill('SIGKILL');
    if (!persistent) rmSync(statedir, { recursive: true, force: true });
    throw e;
  }

  return afterReady(uri, brokers, { daemon, persistent, statedir, args, env });
}


/**
 * Once rank 0 is ready: with --daemon, leave the brokers running and print
 * the URI; else run the initial program, then shut the instance down (its
 * exit code is ours).
 */
export async function afterReady(uri: string, brokers: Map<number, ChildProcess>, o: { daemon: boolean; persistent: boolean; statedir: string; args: string[]; env: NodeJS.ProcessEnv }): Promise<number> {
  const { daemon, persistent, statedir, args, env } = o;
  if (daemon) {
    const cur = currentInstanceFile();
    mkdirSync(dirname(cur), { recursive: true, mode: 0o700 });
    writeFileSync(cur + '.tmp', uri + '\n');
    renameSync(cur + '.tmp', cur);
    for (const b of brokers.values()) { b.unref(); (b.stdio[3] as { destroy?: () => void } | null)?.destroy?.(); }
    process.stdout.write(`${uri}\n`);
    return 0;
  }

  const exited = [...brokers.values()].map((b) => new Promise<void>((r) => { if (b.exitCode !== null) r(); else b.once('exit', () => r()); }));
  const command = args.length > 0 ? args : [process.env['SHELL'] ?? '/bin/sh'];
  const prog = runProgram('start', command, { ...env, FRACTAL_URI: uri });
  const onSignal = (sig: NodeJS.Signals) => prog.child.kill(sig);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const code = await prog.code;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  try {
    const f = await connect(uri);
    await f.shutdown().catch(() => {});
    f.close();
  } catch { /* already gone */ }
  const all = Promise.all(exited);
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10000).unref());
  if ((await Promise.race([all, timeout])) === 'timeout') for (const b of brokers.values()) b.kill('SIGKILL');
  if (!persistent && existsSync(statedir)) rmSync(statedir, { recursive: true, force: true });
  return code;
}
