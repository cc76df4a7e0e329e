/**
 * `fractal top [-d SECONDS] [--once] [-n N]`: a live view of one instance
 * (the current one, or `-r JOBPATH`), as `flux top` gives: its use, jobs by
 * state, throughput and uptime, then its jobs. Enter on a job that runs a
 * nested instance (marked `+`) shows that instance; Backspace, Escape or `h`
 * goes back up; `q` or Ctrl-C quits. When stdout is not a terminal, or with
 * --once, frames are printed as plain text.
 *
 * The terminal is put back (raw mode off, cursor shown, alternate screen
 * left) however the command ends: quit, error, signal or exit.
 */
import type { Fractal } from '../../api/index.js';
import { FractalError, invalid } from '../../errors/index.js';
import type { JobInfo } from '../../protocol/index.js';
import { intOpt } from '../util.js';
import { connectChild, openStart, snapshot, unreachable, withTimeout, type Snapshot } from '../instance-view.js';
import { initialState, leaveLost, onKey, parseKeys, selectedIndex, type TopState } from '../top-keys.js';
import { orderJobs, renderFrame } from '../top-view.js';

/** Bound on one refresh: generous (a loaded machine answers slowly); a dead instance fails at once. */
const TIMEOUT_MS = 30_000;

interface Data { snap: Snapshot; jobs: JobInfo[] }

async function fetchData(f: Fractal): Promise<Data> {
  const [snap, running, pending] = await withTimeout(Promise.all([
    snapshot(f), f.list({ states: ['running'] }), f.list({ states: ['pending'] }),
  ]), TIMEOUT_MS, 'the instance');
  return { snap, jobs: orderJobs(running, pending) };
}

function delayOf(v: unknown): number {
  const d = Number(v ?? 2);
  if (!Number.isFinite(d) || d < 0.1 || d > 86400) throw invalid(`-d/--delay must be a number of seconds from 0.1 to 86400 (got "${String(v)}")`);
  return d;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export default async function top(_args: string[], opts: Record<string, unknown>): Promise<number> {
  const delay = delayOf(opts['delay']);
  const iterations = intOpt(opts['iterations'], '--iterations', 1);
  const live = opts['once'] !== true && process.stdout.isTTY === true && process.stdin.isTTY === true;
  const { f: root, label, prefix } = await openStart(opts);
  try {
    if (!live) return await plain(root, label, delay, opts['once'] === true ? 1 : iterations ?? 1);
    return await interactive(root, label, prefix, delay, iterations);
  } catch (e) {
    const err = FractalError.from(e);
    throw new FractalError(err.code, `the instance ${label === '.' ? 'at ' + root.uri : label} stopped answering (${err.message}); check that it still runs (\`fractal jobs\`), or pick another with -r`);
  } finally {
    root.close();
  }
}

/** Frames as plain text, one after the other (blank line between), `delay` apart. */
async function plain(f: Fractal, label: string, delay: number, n: number): Promise<number> {
  let prev: Snapshot | undefined;
  for (let i = 0; i < n; i++) {
    if (i > 0) await sleep(delay * 1000);
    const d = await fetchData(f);
    const lines = renderFrame({ label, uri: f.uri, snap: d.snap, prev, jobs: d.jobs, selected: -1, message: '', size: undefined });
    process.stdout.write((i > 0 ? '\n' : '') + lines.join('\n') + '\n');
    prev = d.snap;
  }
  return 0;
}

/**
 * The terminal in raw mode on the alternate screen; `leave()` puts it back
 * and is safe to call more than once. Also left on process exit and on
 * SIGTERM/SIGHUP (Ctrl-C arrives as a key in raw mode).
 */
class Screen {
  private left = false;
  private readonly onExit = (): void => this.leave();
  private readonly onSignal = (sig: NodeJS.Signals): void => {
    this.leave();
    process.exit(sig === 'SIGHUP' ? 129 : 143);
  };

  enter(): void {
    process.on('exit', this.onExit);
    process.on('SIGTERM', this.onSignal);
    process.on('SIGHUP', this.onSignal);
    process.stdin.setRawMode(true);
    process.stdin.resume();
    process.stdout.write('\x1b[?1049h\x1b[?25l');
  }

  draw(lines: string[]): void {
    if (this.left) return;
    process.stdout.write('\x1b[H' + lines.map((l) => l + '\x1b[K').join('\r\n') + '\x1b[J');
  }

  leave(): void {
    if (this.left) return;
    this.left = true;
    process.off('exit', this.onExit);
    process.off('SIGTERM', this.onSignal);
    process.off('SIGHUP', this.onSignal);
    try { process.stdin.setRawMode(false); } catch { /* stdin closed */ }
    process.stdin.pause();
    try { process.stdout.write('\x1b[?25h\x1b[?1049l'); } catch { /* stdout closed */ }
  }
}

const pathKey = (s: TopState): string => s.path.map((l) => l.id).join('/');

async function interactive(root: Fractal, rootName: string, prefix: string, delay: number, iterations: number | undefined): Promise<number> {
  const screen = new Screen();
  let state = initialState();
  /** Connections from the first instance down to the one shown (conns[0] is root's, not closed here). */
  const conns: Array<{ id: number | undefined; f: Fractal }> = [{ id: undefined, f: root }];
  /** The latest data of each level seen, by path: going back up shows the parent at once. */
  const seen = new Map<string, Data & { prev: Snapshot | undefined }>();
  let wake: () => void = () => {};
  let quit: () => void = () => {};
  const quitting = new Promise<void>((r) => { quit = r; });

  const labelOf = (s: TopState): string => (s.path.length === 0 ? rootName : `${prefix}${pathKey(s)}`);
  const draw = (): void => {
    const size = { columns: process.stdout.columns || 80, rows: process.stdout.rows || 24 };
    const here = seen.get(pathKey(state));
    const f = conns[conns.length - 1]!.f;
    if (!here) {
      screen.draw([`fractal top: ${labelOf(state)}`, '', state.message || 'connecting...']);
      return;
    }
    screen.draw(renderFrame({
      label: labelOf(state), uri: f.uri, snap: here.snap, prev: here.prev, jobs: here.jobs,
      selected: selectedIndex(state, here.jobs), message: state.message, size,
    }));
  };
  const onData = (buf: Buffer): void => {
    const before = pathKey(state);
    const rows = seen.get(before)?.jobs ?? [];
    for (const k of parseKeys(buf.toString('latin1'))) state = onKey(state, k, rows);
    if (state.quit) { quit(); return; }
    if (pathKey(state) !== before) wake();
    draw();
  };

  screen.enter();
  process.stdin.on('data', onData);
  process.stdout.on('resize', draw);
  try {
    let frames = 0;
    while (!state.quit) {
      // Follow the state's path: close levels left, connect to levels entered.
      let keep = 1;
      while (keep < conns.length && conns[keep]!.id === state.path[keep - 1]?.id) keep++;
      for (const c of conns.splice(keep)) c.f.close();
      const want = state.path[conns.length - 1];
      if (want) {
        draw();
        const connecting = connectChild(want.uri, TIMEOUT_MS);
        let c: Fractal | undefined;
        try {
          c = await Promise.race([connecting, quitting.then(() => undefined)]);
        } catch (e) {
          state = leaveLost(state, unreachable(e));
          continue;
        }
        if (!c) {
          // Quit while connecting: close the connection if it still comes.
          connecting.then((late) => late.close(), () => undefined);
          break;
        }
        conns.push({ id: want.id, f: c });
        continue;
      }
      const key = pathKey(state);
      let d: Data | undefined;
      try {
        d = await Promise.race([fetchData(conns[conns.length - 1]!.f), quitting.then(() => undefined)]);
      } catch (e) {
        if (state.path.length === 0) throw e;
        // The nested instance ended (or hangs): back to its parent, saying why.
        state = leaveLost(state, unreachable(e));
        continue;
      }
      if (!d || state.quit) break;
      if (key !== pathKey(state)) continue; // moved meanwhile: fetch the new level now
      seen.set(key, { ...d, prev: seen.get(key)?.snap });
      draw();
      if (iterations !== undefined && ++frames >= iterations) break;
      // Until the next refresh, a key that changes the level, or quit; the timer must not keep the process alive after.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((r) => { timer = setTimeout(r, delay * 1000); wake = r; }), quitting]);
      clearTimeout(timer);
    }
  } finally {
    process.stdin.off('data', onData);
    process.stdout.off('resize', draw);
    for (const c of conns.splice(1)) c.f.close();
    screen.leave();
  }
  return 0;
}
