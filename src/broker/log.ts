/**
 * The broker's log (stderr). Logging never takes the broker down: when the
 * log file's disk is full (daemon mode) or the terminal's pipe is gone, a
 * write to stderr fails with an 'error' event, which would otherwise be
 * fatal. Lost lines are counted and reported once writing works again.
 */
import { safeStderr } from '../store/index.js';

export function brokerLog(rank: number): (msg: string) => void {
  let lost = 0;
  process.stderr.on('error', () => { lost++; });
  process.stdout.on('error', () => { /* nothing is written to stdout */ });
  return (msg: string) => {
    if (lost > 0) {
      const n = lost;
      lost = 0;
      safeStderr(`fractal-broker[${rank}]: (${n} log line(s) could not be written: disk full or stderr closed)`);
    }
    safeStderr(`fractal-broker[${rank}]: ${msg}`);
  };
}
