/**
 * The contract between the broker and its modules. A module is a service:
 * it registers handlers for topics `<service>.<method>` and talks to other
 * modules only through `ctx.rpc` and events, never by importing them.
 */
import type { Cred } from '../protocol/index.js';
import type { Store } from '../store/index.js';

/** Returned by a handler that will respond later (or stream) through `req.respond`. */
export const DEFERRED: unique symbol = Symbol('deferred');

export interface Req<P = unknown> {
  readonly topic: string;
  readonly payload: P;
  readonly cred: Cred;
  /** Sends a response; `more` keeps the stream open for further responses. */
  respond(payload: unknown, more?: boolean): void;
  error(e: unknown): void;
  /** True once the requester went away (disconnect); streaming handlers stop then. */
  readonly canceled: boolean;
  onCancel(fn: () => void): void;
}

export type Handler = (req: Req) => unknown;

export interface ServiceEntry {
  /** Full topic, e.g. `job-manager.submit`. */
  topic: string;
  handler: Handler;
  /** Only the instance owner may call when true. */
  ownerOnly?: boolean;
  /** Only modules and other brokers may call (the scheduler and exec protocols); clients get EPERM. */
  internal?: boolean;
}

export interface BrokerInfo {
  rank: number;
  size: number;
  /** Directory for sockets and runtime files of this instance. */
  rundir: string;
  /** Persistent state directory (rank 0) or the rundir for ephemeral instances. */
  statedir: string;
  uri: string;
  /** Instance attributes from `fractal start` (string key → value). */
  attrs: Record<string, string>;
  hostname: string;
}

export interface ModuleContext {
  readonly broker: BrokerInfo;
  /** The instance store; present only on rank 0. */
  readonly store: Store | undefined;
  register(entries: ServiceEntry[]): void;
  rpc<T = unknown>(topic: string, payload?: unknown, nodeid?: number): Promise<T>;
  /** Streaming request: `onData` gets each response until the stream ends. */
  rpcStream(topic: string, payload: unknown, onData: (p: unknown) => void, nodeid?: number): Promise<void>;
  publish(topic: string, payload: unknown): void;
  subscribe(prefix: string, fn: (topic: string, payload: unknown) => void): void;
  log(msg: string): void;
}

export interface BrokerModule {
  readonly name: string;
  /** Ranks the module runs on. */
  readonly ranks: 'all' | 'leader';
  start(ctx: ModuleContext): void | Promise<void>;
  /** Called at shutdown, in reverse start order. */
  stop?(): void | Promise<void>;
}

/**
 * Wraps `fn` so that any number of calls within one event-loop turn run it
 * once, on the next turn (a scheduler's cycle after a burst of events).
 */
export function coalesce(fn: () => void): () => void {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    setImmediate(() => {
      pending = false;
      fn();
    });
  };
}
