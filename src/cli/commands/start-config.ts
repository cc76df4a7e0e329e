/**
 * `fractal start --config FILE`: this host's broker of an instance that spans
 * hosts, from a TOML `[bootstrap]` file (src/bootstrap). Every host runs the
 * same command; the broker's rank is the position of this host's name in the
 * file's host list. Rank 0 runs the initial program (or, with --daemon,
 * prints the URI); the other ranks run their broker until the instance shuts
 * down (in the background with --daemon).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadBootstrap, rankOf, parentRank, listenUri } from '../../bootstrap/index.js';
import { invalid } from '../../errors/index.js';
import { loadOverlayTls } from '../../protocol/index.js';
import { parseDuration } from '../../jobspec/index.js';
import { installPath, serviceEnv } from '../../service/index.js';
import { prepareStateDir } from '../util.js';
import { afterReady, brokerNodeArgs, waitReady } from './start.js';

/** How long a broker waits for its tree parent and children by default: hosts boot at their own pace. */
const JOIN_TIMEOUT = '5m';

export default async function startFromConfig(file: string, args: string[], o: { stateDir?: string; daemon: boolean; attrs: string[] }): Promise<number> {
  const b = loadBootstrap(resolve(file));
  const attrs = new Map(o.attrs.map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
  const me = attrs.get('hostname') ?? hostname();
  const rank = rankOf(b, me);
  const size = b.hosts.length;
  if (size > 1 && b.tlsDir === undefined) {
    throw invalid(`${b.file}: an instance of ${size} hosts needs [bootstrap] tls_dir: make its keys with \`fractal keygen DIR\`, copy DIR to every host, and set tls_dir = "DIR"`);
  }
  if (rank > 0 && args.length > 0) throw invalid(`this host (${me}) is rank ${rank}: only rank 0 (${b.hosts[0]!.host}) runs the initial program; start the other hosts without a command`);
  const join_ = attrs.get('overlay.join-timeout') ?? JOIN_TIMEOUT;
  const joinMs = parseDuration(join_) * 1000;
  const persistent = o.stateDir !== undefined;
  const statedir = persistent ? prepareStateDir(resolve(o.stateDir!)) : mkdtempSync(join(tmpdir(), 'fractal-'));
  // The overlay is TLS with the instance's keys (bad keys fail here, not in the broker's log); every
  // host derives the same hello key from them, so no shared file system is needed.
  if (b.tlsDir !== undefined) loadOverlayTls(b.tlsDir);
  if (b.tlsDir !== undefined) writeFileSync(join(statedir, 'overlay.key'), overlayKey(b.tlsDir) + '\n', { mode: 0o600 });
  const argv = [...brokerNodeArgs(), '--rank', String(rank), '--size', String(size),
    '--rundir', statedir, '--statedir', statedir, '--fanout', String(b.fanout), '--overlay-uri', listenUri(b.hosts[rank]!.bind)];
  if (rank > 0) argv.push('--parent-uri', b.hosts[parentRank(rank, b.fanout)]!.connect);
  const brokerAttrs = new Map(attrs);
  brokerAttrs.set('hostname', me);
  brokerAttrs.set('overlay.join-timeout', join_);
  if (b.tlsDir !== undefined) brokerAttrs.set('tls-dir', b.tlsDir);
  for (const [k, v] of brokerAttrs) argv.push('--attr', `${k}=${v}`);
  if (rank === 0) argv.push('--ready-fd', '3');
  const env = serviceEnv({ ...process.env, PATH: `${installPath('bin')}:${process.env['PATH'] ?? ''}` });
  let out: number | 'inherit' = 'inherit';
  if (o.daemon) out = openSync(join(statedir, `broker-${rank}.log`), 'a');
  const child: ChildProcess = spawn(process.execPath, argv, { stdio: ['ignore', out, out, rank === 0 ? 'pipe' : 'ignore'], detached: o.daemon, env });
  if (typeof out === 'number') closeSync(out);
  if (rank > 0) {
    if (o.daemon) {
      child.unref();
      process.stdout.write(`rank ${rank} of ${size} (${me}) started; log ${join(statedir, `broker-${rank}.log`)}\n`);
      return 0;
    }
    const code = await new Promise<number>((r) => child.once('exit', (c) => r(c ?? 1)));
    if (!persistent) rmSync(statedir, { recursive: true, force: true });
    return code;
  }
  let uri: string;
  try {
    uri = await waitReady(child, joinMs + 30000);
  } catch (e) {
    child.kill('SIGKILL');
    if (!persistent) rmSync(statedir, { recursive: true, force: true });
    throw e;
  }
  return afterReady(uri, new Map([[0, child]]), { daemon: o.daemon, persistent, statedir, args, env });
}

/** The overlay hello key of an instance: a digest of its brokers' private key (every host has that file). */
function overlayKey(tlsDir: string): string {
  const keyFile = join(tlsDir, 'broker.key');
  let key: Buffer;
  try {
    key = readFileSync(keyFile);
  } catch (e) {
    throw invalid(`tls_dir ${tlsDir}: cannot read ${keyFile} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); make the keys with \`fractal keygen ${tlsDir}\` and copy the directory to every host`);
  }
  return createHash('sha256').update('fractal overlay key\0').update(key).digest('hex');
}
