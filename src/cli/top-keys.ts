/**
 * `fractal top`'s keys, as pure functions: the bytes a terminal sends in raw
 * mode become keys (`parseKeys`), and a key moves the view from one state to
 * the next (`onKey`). No terminal, no clock, no connection: the command
 * applies the result (connects to a child, quits, redraws).
 */

export type Key = 'up' | 'down' | 'enter' | 'back' | 'quit';

/**
 * Keys in a chunk of raw terminal input. Arrows come as CSI or SS3
 * sequences (`ESC [ A`, `ESC O A`); a lone ESC is Escape. Other bytes are
 * ignored.
 */
export function parseKeys(data: string): Key[] {
  const keys: Key[] = [];
  for (let i = 0; i < data.length; i++) {
    const c = data[i]!;
    if (c === '\x1b') {
      const next = data[i + 1];
      if (next === '[' || next === 'O') {
        // A CSI/SS3 sequence: parameters, then one final byte in @..~.
        let j = i + 2;
        while (j < data.length && !/[@-~]/.test(data[j]!)) j++;
        const fin = data[j];
        if (fin === 'A') keys.push('up');
        else if (fin === 'B') keys.push('down');
        i = j;
      } else {
        keys.push('back');
      }
      continue;
    }
    switch (c) {
      case 'k': keys.push('up'); break;
      case 'j': keys.push('down'); break;
      case '\r': case '\n': keys.push('enter'); break;
      case '\x7f': case '\b': case 'h': keys.push('back'); break;
      case 'q': case '\x03': keys.push('quit'); break;
      default: break;
    }
  }
  return keys;
}

/** A level of the view below the first: the job whose nested instance it shows. */
export interface Level {
  id: number;
  uri: string;
}

export interface TopState {
  /** The levels descended into, from the instance `top` started on. */
  path: Level[];
  /** The selected job of the current level (kept by id across refreshes, which reorder rows). */
  selected: number | undefined;
  /** The job selected at each level above, to select again on the way back up. */
  above: Array<number | undefined>;
  /** A note for the status line (e.g. why Enter did nothing). */
  message: string;
  quit: boolean;
}

/** A job row as the view lists it, in display order. */
export interface Row {
  id: number;
  /** Set when the job runs a nested instance whose URI is recorded. */
  uri?: string | undefined;
}

export function initialState(): TopState {
  return { path: [], selected: undefined, above: [], message: '', quit: false };
}

/** The selected row's index in `rows`: the selected job if still listed, else the first row. */
export function selectedIndex(s: TopState, rows: Row[]): number {
  if (rows.length === 0) return -1;
  const i = s.selected === undefined ? -1 : rows.findIndex((r) => r.id === s.selected);
  return i < 0 ? 0 : i;
}

/** The state after `key`, with `rows` the jobs on the screen now. */
export function onKey(s: TopState, key: Key, rows: Row[]): TopState {
  const here = { ...s, message: '' };
  const i = selectedIndex(s, rows);
  switch (key) {
    case 'quit':
      return { ...here, quit: true };
    case 'up':
    case 'down': {
      if (i < 0) return here;
      const j = Math.max(0, Math.min(rows.length - 1, i + (key === 'up' ? -1 : 1)));
      return { ...here, selected: rows[j]!.id };
    }
    case 'enter': {
      const row = i < 0 ? undefined : rows[i];
      if (!row) return { ...here, message: 'no job to descend into' };
      if (!row.uri) return { ...here, selected: row.id, message: `job ${row.id} runs no nested instance (or it is still starting)` };
      return { ...here, path: [...s.path, { id: row.id, uri: row.uri }], above: [...s.above, row.id], selected: undefined };
    }
    case 'back': {
      if (s.path.length === 0) return { ...here, message: 'already at the top instance (q quits)' };
      return { ...here, path: s.path.slice(0, -1), above: s.above.slice(0, -1), selected: s.above[s.above.length - 1] };
    }
  }
}

/** Goes back up one level because the current one stopped answering. */
export function leaveLost(s: TopState, why: string): TopState {
  const lost = s.path[s.path.length - 1];
  if (!lost) return s;
  return { ...onKey(s, 'back', []), message: `job ${lost.id}'s instance: ${why}` };
}
