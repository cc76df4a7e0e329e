/**
 * Entry point of an executor process (started by the broker's shell module):
 *   node dist/src/shell/main.js --sock PATH --results FILE [--pgids FILE] [--idle-exit SECONDS]
 */
import net from 'node:net';
import { unlinkSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Connection } from '../protocol/index.js';
import { Executor } from './executor.js';

// Logging never takes the executor (and its jobs) down: a full disk under its log file or a
// closed stderr makes writes fail with an 'error' event, which would otherwise be fatal.
process.stderr.on('error', () => {});
process.stdout.on('error', () => {});
const { values } = parseArgs({ options: { sock: { type: 'string' }, results: { type: 'string' }, pgids: { type: 'string' }, 'idle-exit': { type: 'string', default: '60' } } });
if (!values.sock || !values.results) {
  process.stderr.write('usage: executor --sock PATH --results FILE (started by the broker)\n');
  process.exit(2);
}
const ex = new Executor(values.results, Number(values['idle-exit']) * 1000, values.pgids);
try { unlinkSync(values.sock); } catch { /* none */ }
const srv = net.createServer((s) => ex.attach(new Connection(s)));
srv.listen(values.sock);
process.on('SIGTERM', () => ex.shutdown());
// The broker's terminal going away must not take running jobs with it.
process.on('SIGHUP', () => {});
process.on('SIGINT', () => {});
