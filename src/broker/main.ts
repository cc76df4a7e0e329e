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
let overlayToken: string | undefined;
try {
  overlayToken = readFileSync(join(statedir, 'overlay.key'), 'utf8').trim();
} catch { /* single broker: no overlay */ }

const localPath = join(rundir, rank === 0 ? 'local.sock' : `local-${rank}.sock`);
const uri = localUri(localPath);
const store = rank === 0 ? new Store(join(statedir, 'fractal.db')) : undefined;
const broker = new Broker({
  info: { rank, size, rundir, statedir, uri, attrs, hostname: hostname() },
  store,
  fanout: Math.max(1, Number(values.fanout)),
  ...(values['parent-uri'] ? { parentUri: values['parent-uri'] } : {}),
  overlayUri: values['overlay-uri'] ?? localUri(join(rundir, `overlay-${rank}.sock`)),
  ...(overlayToken ? { overlayToken } : {}),
  localPath,
});
broker.onShutdown = () => {
  // Give queued writes a turn to leave, then exit.
  setImmediate(() => process.exit(0));
};
process.on('SIGTERM', () => void broker.shutdown());
process.on('SIGINT', () => void broker.shutdown());

try {
  await broker.listen();
  await broker.loadModules(perRankModules());
  await broker.joinOverlay();
  if (rank === 0) {
    await broker.loadModules(leaderModules(attrs));
    const uriFile = join(statedir, 'uri');
    writeFileSync(uriFile + '.tmp', uri + '\n');
    renameSync(uriFile + '.tmp', uriFile);
  } else {
    await broker.rpc('resource.register', { rank, resources: discoverLocal(attrs) }, 0);
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
  broker.log(`start-up failed: ${(e as Error).message}`);
  process.exit(1);
}
