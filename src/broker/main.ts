/**
 * Entry point of a broker process (`fractal-broker`). Started by
 * `fractal start` (one per rank); not meant to be run by hand.
 *
 *   node dist/src/broker/main.js --rank R --size N --rundir DIR --statedir DIR
 *        [--parent-uri URI] [--fanout K] [--attr key=value]... [--ready-fd 3]
 */
import { parseArgs } from 'node:util';
import { writeFileSync, renameSync, closeSync, writeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { Store, openError, safeStderr } from '../store/index.js';
import { FractalError } from '../errors/index.js';
import { localUri } from '../protocol/index.js';
import { Broker } from './broker.js';
import { leaderModules, perRankModules } from './modules.js';
import { discoverLocal } from '../modules/resource/index.js';

// Logging never takes the broker down: when the log file's disk is full (daemon mode) or the
// terminal's pipe is gone, a write to stderr fails with an 'error' event, which would otherwise
// be fatal. Lost lines are counted and reported once writing works again.
let lostLogLines = 0;
process.stderr.on('error', () => { lostLogLines++; });
process.stdout.on('error', () => { /* nothing is written to stdout */ });
function log(msg: string): void {
  if (lostLogLines > 0) {
    const n = lostLogLines;
    lostLogLines = 0;
    safeStderr(`fractal-broker[${values.rank}]: (${n} log line(s) could not be written: disk full or stderr closed)`);
  }
  safeStderr(`fractal-broker[${values.rank}]: ${msg}`);
}

const { values } = parseArgs({
  options: {
    rank: { type: 'string', default: '0' },
    size: { type: 'string', default: '1' },
    rundir: { type: 'string' },
    statedir: { type: 'string' },
    'parent-uri': { type: 'string' },
    'overlay-uri': { type: 'string' },
    fanout: { type: 'string', default: '2' },
    attr: { type: 'string', multiple: true, default: [] },
    'ready-fd': { type: 'string' },
  },
  strict: true,
});

const rank = Number(values.rank);
const size = Number(values.size);
const rundir = values.rundir;
const statedir = values.statedir ?? rundir;
if (!rundir || !statedir || !Number.isInteger(rank) || !Number.isInteger(size) || rank < 0 || rank >= size) {
  process.stderr.write('fractal-broker: usage: --rank R --size N --rundir DIR [--statedir DIR] (started by `fractal start`)\n');
  process.exit(2);
}
const attrs: Record<string, string> = {};
for (const kv of values.attr) {
  const i = kv.indexOf('=');
  if (i > 0) attrs[kv.slice(0, i)] = kv.slice(i + 1);
}

// Overlay peers prove they belong to this instance with a secret only the owner can read.
const readToken = (): string | undefined => {
  try {
    return readFileSync(join(statedir, 'overlay.key'), 'utf8').trim();
  } catch {
    return undefined; // single broker: no overlay
  }
};
const overlayToken = readToken();
const fanout = Math.max(1, Number(values.fanout));
const overlayUri = values['overlay-uri'] ?? localUri(join(rundir, `overlay-${rank}.sock`));
const parentRank = Math.floor((rank - 1) / fanout);
/**
 * After losing its parent, a broker dials the parent's address as the parent last published it
 * (`overlay-<rank>.uri`: a restarted parent may listen on a new TCP port) with the key as it is now
 * (a restart of the whole instance writes a new one).
 */
const parentLink = (): { uri: string; token: string } => {
  let uri = values['parent-uri'] ?? '';
  try {
    uri = readFileSync(join(statedir, `overlay-${parentRank}.uri`), 'utf8').trim() || uri;
  } catch { /* not published: the address we were started with */ }
  return { uri, token: readToken() ?? '' };
};

/**
 * Start-up failed: one line in the log and, for `fractal start` waiting on the ready fd, the
 * same line there (it prints it on the terminal), then exit 1.
 */
function failStart(e: unknown): never {
  const dbPath = join(statedir!, 'fractal.db');
  const code = String((e as { code?: unknown })?.code ?? '');
  const err = code.startsWith('SQLITE_') ? openError(e, dbPath) : FractalError.from(e);
  const line = err.message.replace(/\s*\n\s*/g, ' ');
  log(`start-up failed: ${line}`);
  if (values['ready-fd'] !== undefined) {
    try { writeSync(Number(values['ready-fd']), `error ${line}\n`); } catch { /* the starter went away */ }
  }
  process.exit(1);
}

const localPath = join(rundir, rank === 0 ? 'local.sock' : `local-${rank}.sock`);
const uri = localUri(localPath);
let store: Store | undefined;
try {
  // A damaged or unreadable database fails here, named, with what to do.
  store = rank === 0 ? new Store(join(statedir, 'fractal.db'), { log }) : undefined;
} catch (e) {
  failStart(e);
}
const broker = new Broker({
  info: { rank, size, rundir, statedir, uri, attrs, hostname: hostname() },
  store,
  fanout,
  ...(values['parent-uri'] ? { parentUri: values['parent-uri'], parentLink } : {}),
  overlayUri,
  ...(overlayToken ? { overlayToken } : {}),
  localPath,
});
broker.onShutdown = () => {
  // Give queued writes a turn to leave, then exit.
  setImmediate(() => process.exit(0));
};
process.on('SIGTERM', () => void broker.shutdown());
process.on('SIGINT', () => void broker.shutdown());

/** Rank > 0 announces its node to rank 0's inventory: at start, and again whenever it or an ancestor re-joins. */
const register = (): Promise<unknown> => broker.rpc('resource.register', { rank, resources: discoverLocal(attrs) }, 0);
broker.onRejoin = () => {
  if (rank > 0) register().catch((e: unknown) => broker.log(`resource.register after re-joining: ${(e as Error).message}`));
};

/** Writes a file in the state directory atomically (readers never see half of it). */
function publishFile(name: string, text: string): void {
  const f = join(statedir!, name);
  writeFileSync(f + '.tmp', text);
  renameSync(f + '.tmp', f);
}

try {
  await broker.listen();
  // Children (and `fractal start` restarting missing ranks) find this broker's overlay address here.
  if (size > 1) publishFile(`overlay-${rank}.uri`, overlayUri + '\n');
  await broker.loadModules(perRankModules());
  await broker.joinOverlay();
  if (rank === 0) {
    await broker.loadModules(leaderModules(attrs));
    const uriFile = join(statedir, 'uri');
    writeFileSync(uriFile + '.tmp', uri + '\n');
    renameSync(uriFile + '.tmp', uriFile);
  } else {
    await register();
  }
  broker.ready = true;
  if (values['ready-fd'] !== undefined && rank === 0) {
    const fd = Number(values['ready-fd']);
    try {
      writeSync(fd, `ready ${uri}\n`);
      closeSync(fd);
    } catch { /* the starter went away */ }
  }
} catch (e) {
  failStart(e);
}
