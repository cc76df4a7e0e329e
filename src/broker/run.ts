/**
 * Runs one broker of an instance in this process: opens the store (rank 0),
 * listens, joins the overlay, loads the modules and says when it is ready.
 * Used by the broker's own entry point (main.ts, started by `fractal start`)
 * and by `fractal start` inside a job, where the broker runs in the task's
 * process itself (a nested instance: docs/hierarchy.md).
 */
import { writeFileSync, renameSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { Store, openError, safeStderr, DEFAULT_COMMIT_SPACING_MS } from '../store/index.js';
import { FractalError, invalid } from '../errors/index.js';
import { parseDuration } from '../jobspec/index.js';
import { localUri, loadOverlayTls } from '../protocol/index.js';
import { Broker } from './broker.js';
import { leaderModules, perRankModules } from './modules.js';
import { discoverLocal } from '../modules/resource/index.js';

export interface BrokerRunOptions {
  rank: number;
  size: number;
  /** Sockets and runtime files. */
  rundir: string;
  /** The store (rank 0), the overlay key and the published addresses. */
  statedir: string;
  fanout: number;
  attrs: Record<string, string>;
  /** Where this broker listens for overlay children (default: a unix socket in rundir). */
  overlayUri?: string | undefined;
  /** The parent's overlay address as started (ranks > 0); later re-read from `overlay-<parent>.uri`. */
  parentUri?: string | undefined;
}

/** A start-up failure, in one line, named (a damaged database says what to do). */
export function startError(e: unknown, statedir: string): string {
  const code = String((e as { code?: unknown })?.code ?? '');
  const err = code.startsWith('SQLITE_') ? openError(e, join(statedir, 'fractal.db')) : FractalError.from(e);
  return err.message.replace(/\s*\n\s*/g, ' ');
}

/** Writes a file in the state directory atomically (readers never see half of it). */
function publishFile(dir: string, name: string, text: string): void {
  const f = join(dir, name);
  writeFileSync(f + '.tmp', text);
  renameSync(f + '.tmp', f);
}

/**
 * Starts the broker and resolves once it serves clients (rank 0: all
 * modules loaded). Throws what made start-up fail; the caller reports it.
 */
export async function runBroker(o: BrokerRunOptions, log: (msg: string) => void): Promise<Broker> {
  const { rank, size, rundir, statedir, attrs } = o;
  // Overlay peers prove they belong to this instance with a secret only the owner can read.
  const readToken = (): string | undefined => {
    try {
      return readFileSync(join(statedir, 'overlay.key'), 'utf8').trim();
    } catch {
      return undefined; // single broker: no overlay
    }
  };
  const overlayToken = readToken();
  // -o tls-dir=DIR: the TCP overlay runs over mutual TLS with the instance's keys (`fractal keygen DIR`).
  const tlsDir = attrs['tls-dir'];
  const overlayTls = tlsDir ? loadOverlayTls(tlsDir) : undefined;
  const fanout = Math.max(1, o.fanout);
  const overlayUri = o.overlayUri ?? localUri(join(rundir, `overlay-${rank}.sock`));
  const parentRank = Math.floor((rank - 1) / fanout);
  /**
   * After losing its parent, a broker dials the parent's address as the parent last published it
   * (`overlay-<rank>.uri`: a restarted parent may listen on a new TCP port) with the key as it is now
   * (a restart of the whole instance writes a new one).
   */
  const parentLink = (): { uri: string; token: string } => {
    let uri = o.parentUri ?? '';
    try {
      uri = readFileSync(join(statedir, `overlay-${parentRank}.uri`), 'utf8').trim() || uri;
    } catch { /* not published: the address we were started with */ }
    return { uri, token: readToken() ?? '' };
  };
  const localPath = join(rundir, rank === 0 ? 'local.sock' : `local-${rank}.sock`);
  const uri = localUri(localPath);
  // A damaged or unreadable database fails here, named, with what to do.
  const store = rank === 0 ? new Store(join(statedir, 'fractal.db'), { log, commitSpacingMs: commitSpacing(attrs['store.commit-spacing']) }) : undefined;
  const broker = new Broker({
    info: { rank, size, rundir, statedir, uri, attrs, hostname: attrs['hostname'] ?? hostname() },
    store,
    fanout,
    ...(o.parentUri ? { parentUri: o.parentUri, parentLink } : {}),
    overlayUri,
    ...(overlayToken ? { overlayToken } : {}),
    ...(overlayTls ? { overlayTls } : {}),
    localPath,
  });
  const resources = discoverLocal(attrs);
  /** Rank > 0 announces its node to rank 0's inventory: at start, and again whenever it or an ancestor re-joins. */
  const register = (): Promise<unknown> => broker.rpc('resource.register', { rank, resources }, 0);
  broker.onRejoin = () => {
    if (rank > 0) register().catch((e: unknown) => broker.log(`resource.register after re-joining: ${(e as Error).message}`));
  };
  await broker.listen();
  // Children (and `fractal start` restarting missing ranks) find this broker's overlay address here.
  if (size > 1) publishFile(statedir, `overlay-${rank}.uri`, overlayUri + '\n');
  await broker.loadModules(perRankModules());
  await broker.joinOverlay(attrs['overlay.join-timeout'] !== undefined ? parseDuration(attrs['overlay.join-timeout']) * 1000 : undefined);
  if (rank === 0) {
    await broker.loadModules(leaderModules(attrs));
    publishFile(statedir, 'uri', uri + '\n');
  } else {
    await register();
  }
  broker.ready = true;
  return broker;
}

export { safeStderr };

/** `-o store.commit-spacing=DURATION`: the least time between two group commits (see Store), at most 1s. */
function commitSpacing(v: string | undefined): number {
  if (v === undefined) return DEFAULT_COMMIT_SPACING_MS;
  const secs = parseDuration(v);
  if (secs > 1) throw invalid(`-o store.commit-spacing=${v}: at most 1s (e.g. 2ms; 0 commits at the end of every event-loop turn)`);
  return secs * 1000;
}
