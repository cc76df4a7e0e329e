/**
 * The one place where Fractal's errors are defined. Every error carries a
 * stable `code` (used by scripts and across the wire) and a message that tells
 * the user what went wrong and what to do next.
 */

export const ErrorCodes = {
  INVALID_ARGUMENT: 'EINVAL',
  NOT_FOUND: 'ENOENT',
  NO_SERVICE: 'ENOSYS',
  PERMISSION: 'EPERM',
  BUSY: 'EBUSY',
  UNSATISFIABLE: 'EUNSAT',
  DISABLED: 'EDISABLED',
  PROTOCOL: 'EPROTO',
  CONNECTION: 'ECONN',
  TIMEOUT: 'ETIMEDOUT',
  INTERNAL: 'EINTERNAL',
  CANCELED: 'ECANCELED',
  /** The state directory's file system is full (the store keeps writes in memory and retries). */
  NO_SPACE: 'ENOSPC',
  /** The state directory's disk returned an I/O error. */
  IO: 'EIO',
  /** A state file is damaged or not what it should be. */
  CORRUPT: 'ECORRUPT',
  /** The broker is starting (its modules are not loaded yet): retry the same request shortly. Clients do so by themselves. */
  STARTING: 'ESTARTING',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface WireError {
  code: string;
  message: string;
}

export class FractalError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.name = 'FractalError';
  }
  toWire(): WireError {
    return { code: this.code, message: this.message };
  }
  static fromWire(w: WireError): FractalError {
    return new FractalError(w.code, w.message);
  }
  /** Any thrown value as a FractalError (unknown errors become EINTERNAL). */
  static from(e: unknown): FractalError {
    if (e instanceof FractalError) return e;
    if (e instanceof Error) return new FractalError(ErrorCodes.INTERNAL, e.message);
    return new FractalError(ErrorCodes.INTERNAL, String(e));
  }
}

/** Shorthand for the most common error: bad input from a user. */
export function invalid(message: string): FractalError {
  return new FractalError(ErrorCodes.INVALID_ARGUMENT, message);
}

/** A value or an error, for expected outcomes that are not exceptional. */
export type Result<T, E = FractalError> = { ok: true; value: T } | { ok: false; error: E };
export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error });
