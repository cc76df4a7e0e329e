/**
 * timers: `setTimeout` for any delay. Node's timers hold at most 2^31-1 ms
 * (about 24.8 days); a longer delay fires after 1 ms with only a warning, so
 * a 30-day time limit would end its job at once. `setLongTimeout` waits in
 * steps of at most that much and re-arms until the whole delay has passed.
 * Every timer whose delay comes from user input (time limits, grace
 * periods, test run durations) goes through here.
 */

/** The longest delay one Node timer can hold. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LongTimeout {
  /** Cancels the timer (safe to call more than once, or after it fired). */
  clear(): void;
  /** Lets the process exit while only this timer is pending. */
  unref(): LongTimeout;
}

/**
 * Calls `fn` once after `ms` milliseconds. Infinity never fires; NaN and
 * negative delays fire on the next turn, as `setTimeout` does.
 */
export function setLongTimeout(fn: () => void, ms: number): LongTimeout {
  let remaining = Number.isNaN(ms) || ms < 0 ? 0 : ms;
  let timer: NodeJS.Timeout | undefined;
  let refed = true;
  let cleared = false;
  const arm = (): void => {
    if (cleared || remaining === Infinity) return;
    const step = Math.min(remaining, MAX_TIMER_MS);
    timer = setTimeout(() => {
      remaining -= step;
      timer = undefined;
      if (remaining > 0) arm();
      else fn();
    }, step);
    if (!refed) timer.unref();
  };
  arm();
  const handle: LongTimeout = {
    clear() {
      cleared = true;
      clearTimeout(timer);
      timer = undefined;
    },
    unref() {
      refed = false;
      timer?.unref();
      return handle;
    },
  };
  return handle;
}

/** Clears a timer that may not be set. */
export function clearLongTimeout(t: LongTimeout | undefined): void {
  t?.clear();
}
