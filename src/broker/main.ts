/**
 * Entry point of a broker process (`fractal-broker`). Started by
 * `fractal start` (one per rank); not meant to be run by hand.
 *
 *   node dist/src/broker/main.js --rank R --size N --rundir DIR --statedir DIR
 *        [--parent-uri URI] [--fanout K] [--attr key=value]... [--ready-fd 3]
 */
import { parseArgs } from 'node:util';
import { closeSync, writeSync } from 'node:fs';
import { runBroker, startError, safeStderr } from './run.js';
import { brokerLog } from './log.js';

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
  safeStderr('fractal-broker: usage: --rank R --size N --rundir DIR [--statedir DIR] (started by `fractal start`)');
  process.exit(2);
}
const attrs: Record<string, string> = {};
for (const kv of values.attr) {
  const i = kv.indexOf('=');
  if (i > 0) attrs[kv.slice(0, i)] = kv.slice(i + 1);
}
const log = brokerLog(rank);
const readyFd = values['ready-fd'] !== undefined ? Number(values['ready-fd']) : undefined;

// No top-level await: the bundle of this entry is CommonJS (scripts/bundle.mjs).
void runBroker({
  rank, size, rundir, statedir, attrs, fanout: Number(values.fanout), overlayUri: values['overlay-uri'], parentUri: values['parent-uri'],
}, log).then((broker) => {
  // Give queued writes a turn to leave, then exit.
  broker.onShutdown = () => setImmediate(() => process.exit(0));
  process.on('SIGTERM', () => void broker.shutdown());
  process.on('SIGINT', () => void broker.shutdown());
  if (readyFd !== undefined && rank === 0) {
    try {
      writeSync(readyFd, `ready ${broker.info.uri}\n`);
      closeSync(readyFd);
    } catch { /* the starter went away */ }
  }
}, (e: unknown) => {
  // One line in the log and, for `fractal start` waiting on the ready fd, the same line there
  // (it prints it on the terminal), then exit 1.
  const line = startError(e, statedir);
  log(`start-up failed: ${line}`);
  if (readyFd !== undefined) {
    try { writeSync(readyFd, `error ${line}\n`); } catch { /* the starter went away */ }
  }
  process.exit(1);
});
