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
import { Store } from '../store/index.js';
import { localUri } from '../protocol/index.js';
import { Broker } from './broker.js';
import { leaderModules, perRankModules } from './modules.js';
import { discoverLocal } from '../modules/resource/index.js';

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

const localPath = join(rundir, rank === 0 ? 'local.sock' : `local-${rank}.sock`);
const uri = localUri(localPath);
const store = rank === 0 ? new Store(join(statedir, 'fractal.db')) : undefined;
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
  if (values['ready-fd'] !== undefined && rank === 0) {
    const fd = Number(values['ready-fd']);
    try {
      writeSync(fd, `ready ${uri}\n`);
      closeSync(fd);
    } catch { /* the starter went away */ }
  }
} catch (e) {
  broker.log(`start-up failed: ${(e as Error).message}`);
  process.exit(1);
}
