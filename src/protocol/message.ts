/**
 * Wire messages between clients, brokers, modules and executors.
 * Three kinds: requests (routed by topic `<service>.<method>`, optionally to a
 * broker rank), responses (matched by id; `more` marks a streaming response
 * that will be followed by others), and events (published, fanned out).
 */
import type { WireError } from '../errors/index.js';

export const MsgType = { Request: 0, Response: 1, Event: 2 } as const;

/** Broker rank meaning "any broker that provides the service, nearest first". */
export const NODEID_ANY = -1;
/** Broker rank meaning "the broker you are connected to" (its own services). */
export const NODEID_LOCAL = -2;

export interface Cred {
  userid: number;
  /** Role bits: ROLE_OWNER may do anything; ROLE_USER only act on own jobs. */
  rolemask: number;
}
export const ROLE_OWNER = 1;
export const ROLE_USER = 2;

export interface RequestMsg {
  t: 0;
  id: number;
  topic: string;
  payload: unknown;
  nodeid?: number;
  /** Set by the broker from the authenticated connection; ignored from clients. */
  cred?: Cred;
  /** When true, no response is expected. */
  noresponse?: boolean;
  /** Set by brokers when the request came from a client (not a module or broker); never trusted from clients. */
  fromClient?: boolean;
}

export interface ResponseMsg {
  t: 1;
  id: number;
  payload?: unknown;
  error?: WireError;
  /** More responses follow (streaming); the stream ends with a response without `more` or with an error. */
  more?: boolean;
}

export interface EventMsg {
  t: 2;
  topic: string;
  payload: unknown;
}

export type Message = RequestMsg | ResponseMsg | EventMsg;

export function isMessage(v: unknown): v is Message {
  if (typeof v !== 'object' || v === null) return false;
  const m = v as { t?: unknown; id?: unknown; topic?: unknown };
  if (m.t === 0) return typeof m.id === 'number' && typeof m.topic === 'string';
  if (m.t === 1) return typeof m.id === 'number';
  if (m.t === 2) return typeof m.topic === 'string';
  return false;
}

/** `job-manager.submit` → `job-manager`. */
export function serviceOf(topic: string): string {
  const dot = topic.indexOf('.');
  return dot < 0 ? topic : topic.slice(0, dot);
}
