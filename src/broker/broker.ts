/**
 * The broker: one per node per instance. It owns the message router that
 * connects in-process modules, local clients (unix socket) and the other
 * brokers of the instance (tree overlay, rank 0 at the root, fan-out k).
 *
 * Routing: a request goes to the local module that provides its service, or
 * up toward rank 0 when none does; a request addressed to a rank goes down
 * the subtree that holds that rank (or up when it is not below us). Each hop
 * rewrites the request id and remembers where the response must go back.
 * Events travel up to rank 0, which fans them out down the whole tree.
 */
import net from 'node:net';
import tls from 'node:tls';
import { chmodSync, unlinkSync } from 'node:fs';
import { FractalError, ErrorCodes } from '../errors/index.js';
import { parseDuration } from '../jobspec/index.js';
import {
  Connection, dial, dialTls, tlsServerOptions, parseUri, PendingCalls, NODEID_ANY, NODEID_LOCAL, ROLE_OWNER, serviceOf, setFrameLimits, parseSize, defaultMaxFrame, PREAUTH_MAX_FRAME,
  type Cred, type OverlayTls, type UriTarget, type EventMsg, type Message, type RequestMsg, type ResponseMsg,
} from '../protocol/index.js';
import type { Store } from '../store/index.js';
import { DEFERRED, type BrokerInfo, type BrokerModule, type Handler, type ModuleContext, type Req, type ServiceEntry } from '../service/index.js';

type PeerKind = 'client' | 'child' | 'parent' | 'internal';

interface Forward {
  origin: Peer;
  origId: number;
}

/** Anything messages come from and go back to. */
abstract class Peer {
  abstract readonly kind: PeerKind;
  abstract send(m: Message): void;
  /** Requests this broker forwarded out through this peer, by rewritten id. */
  readonly forwards = new Map<number, Forward>();
  /** Open (deferred/streaming) requests that came in from this peer. */
  readonly open = new Set<ReqImpl>();
  nextId = 1;
  subs: string[] = [];
  constructor(readonly cred: Cred) {}
}

class ConnPeer extends Peer {
  /** When a message last came in on this link (overlay heartbeats). */
  lastHeard = Date.now();
  constructor(readonly kind: 'client' | 'child' | 'parent', readonly conn: Connection, cred: Cred, readonly rank = -1) {
    super(cred);
  }
  send(m: Message): void {
    this.conn.send(m);
  }
}

/** The broker's own in-process endpoint, used by modules for `ctx.rpc`. */
class InternalPeer extends Peer {
  readonly kind = 'internal' as const;
  readonly pending = new PendingCalls();
  send(m: Message): void {
    if (m.t === 1) this.pending.deliver(m);
  }
}

class ReqImpl implements Req {
  private done = false;
  private cancelFns: Array<() => void> = [];
  canceled = false;
  constructor(readonly msg: RequestMsg, readonly origin: Peer, readonly cred: Cred) {}
  get topic(): string {
    return this.msg.topic;
  }
  get payload(): unknown {
    return this.msg.payload ?? {};
  }
  respond(payload: unknown, more = false): void {
    if (this.done) return;
    if (!more) this.finish();
    if (this.msg.noresponse || this.canceled) return;
    const r: ResponseMsg = { t: 1, id: this.msg.id, payload };
    if (more) r.more = true;
    this.origin.send(r);
  }
  error(e: unknown): void {
    if (this.done) return;
    this.finish();
    if (this.msg.noresponse || this.canceled) return;
    this.origin.send({ t: 1, id: this.msg.id, error: FractalError.from(e).toWire() });
  }
  onCancel(fn: () => void): void {
    this.cancelFns.push(fn);
  }
  cancel(): void {
    this.canceled = true;
    this.finish();
    for (const fn of this.cancelFns) fn();
  }
  private finish(): void {
    this.done = true;
    this.origin.open.delete(this);
  }
}

export interface BrokerOptions {
  info: BrokerInfo;
  store: Store | undefined;
  /** Tree fan-out. */
  fanout: number;
  /** Overlay URI of the parent (ranks > 0). */
  parentUri?: string;
  /** Where this broker listens for its overlay children (size > 1): local:///path or tcp://host:port. */
  overlayUri?: string;
  /** Shared secret every overlay peer must present in its hello (from the 0700 state directory). */
  overlayToken?: string;
  /**
   * TLS for a TCP overlay (-o tls-dir=DIR): the children's server asks for a certificate from the
   * instance CA and the parent link presents one. Unix-socket overlays do not use it.
   */
  overlayTls?: OverlayTls;
  /** Local client socket path. */
  localPath: string;
  /**
   * Where to find the parent now: its overlay URI and the instance's token. Called again before every
   * reconnection, so that a restarted parent (new key, new TCP port) is found; default: the options above.
   */
  parentLink?: () => { uri: string; token: string };
}

/** A link silent this long is closed (-o overlay.timeout): generous, a loaded machine can stall a broker for seconds. */
const DEFAULT_PEER_TIMEOUT_MS = 30000;
const DEFAULT_HEARTBEAT_MS = 2000;

function durationMs(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const secs = parseDuration(v);
  if (secs <= 0 || !Number.isFinite(secs)) throw new FractalError(ErrorCodes.INVALID_ARGUMENT, `-o ${name}=${v}: must be a positive duration such as 30s`);
  return secs * 1000;
}

const OWNER_CRED: Cred = { userid: process.getuid?.() ?? 0, rolemask: ROLE_OWNER };

export class Broker {
  readonly info: BrokerInfo;
  /** When this broker started (epoch seconds), for `fractal top`'s uptime. */
  private readonly tStart = Date.now() / 1000;
  private readonly handlers = new Map<string, ServiceEntry>();
  private readonly services = new Set<string>();
  private readonly internal = new InternalPeer(OWNER_CRED);
  private readonly moduleSubs: Array<{ prefix: string; fn: (topic: string, payload: unknown) => void }> = [];
  private readonly modules: BrokerModule[] = [];
  private readonly clients = new Set<ConnPeer>();
  private readonly children = new Map<number, ConnPeer>();
  private parent: ConnPeer | undefined;
  /** Messages for the parent sent before the link is up (children can join first). */
  private parentQueue: Message[] = [];
  private servers: net.Server[] = [];
  private childWaiters: Array<() => void> = [];
  private stopping = false;
  /** The parent link was up once: a later loss means reconnect, not start-up. */
  private linkedOnce = false;
  /** Overlay heartbeats: every `heartbeatMs` each link is pinged; a link silent for `peerTimeoutMs` is closed. */
  private readonly heartbeatMs: number;
  private readonly peerTimeoutMs: number;
  private heartbeat: NodeJS.Timeout | undefined;
  /** Set by main once the modules are loaded; until then client requests are answered ESTARTING (retry). */
  ready = false;
  onShutdown: () => void = () => {};
  /** This broker or one of its ancestors (re)joined a parent after losing it: re-announce this rank (e.g. `resource.register`). */
  onRejoin: () => void = () => {};

  constructor(private readonly opts: BrokerOptions) {
    this.info = opts.info;
    // Frame limit of every connection this broker accepts (-o max-frame=SIZE); violations are logged here.
    const maxFrame = opts.info.attrs['max-frame'];
    setFrameLimits({ maxFrame: maxFrame === undefined ? undefined : parseSize(maxFrame, 'max-frame'), log: (m) => this.log(m) });
    this.peerTimeoutMs = durationMs(opts.info.attrs['overlay.timeout'], 'overlay.timeout', DEFAULT_PEER_TIMEOUT_MS);
    this.heartbeatMs = Math.max(50, Math.min(DEFAULT_HEARTBEAT_MS, this.peerTimeoutMs / 4));
    this.registerBuiltins();
  }

  /**
   * Pings every overlay link and closes the ones that stayed silent longer
   * than `overlay.timeout`: a host that died or was cut off never closes its
   * TCP connection, so its loss is seen here (the child is then lost as when
   * its connection closes: overlay.lost, its jobs' node-failure after
   * exec.rank-grace; a cut-off child redials its parent).
   */
  private startHeartbeat(): void {
    if (this.heartbeat || this.size <= 1) return;
    this.heartbeat = setInterval(() => {
      const now = Date.now();
      const links = [...this.children.values(), ...(this.parent ? [this.parent] : [])];
      for (const p of links) {
        if (now - p.lastHeard > this.peerTimeoutMs) {
          this.log(`overlay ${p.kind} rank ${p.rank} silent for ${Math.round((now - p.lastHeard) / 1000)}s (overlay.timeout ${this.peerTimeoutMs / 1000}s): closing the link`);
          p.conn.close(new Error('overlay peer timed out'));
        } else {
          p.send({ t: 0, id: 0, topic: 'overlay.ping', payload: null });
        }
      }
    }, this.heartbeatMs);
    this.heartbeat.unref();
  }

  get rank(): number {
    return this.info.rank;
  }
  get size(): number {
    return this.info.size;
  }

  // ---- topology -------------------------------------------------------

  parentOf(rank: number): number {
    return Math.floor((rank - 1) / this.opts.fanout);
  }

  /** The child of this broker whose subtree holds `rank`, or -1. */
  private childToward(rank: number): number {
    let r = rank;
    while (r > this.rank) {
      const p = this.parentOf(r);
      if (p === this.rank) return r;
      r = p;
    }
    return -1;
  }

  private expectedChildren(): number[] {
    const out: number[] = [];
    for (let i = 1; i <= this.opts.fanout; i++) {
      const c = this.rank * this.opts.fanout + i;
      if (c < this.size) out.push(c);
    }
    return out;
  }

  // ---- start-up ---------------------------------------------------------

  async listen(): Promise<void> {
    try { unlinkSync(this.opts.localPath); } catch { /* not there */ }
    this.servers.push(await this.serve({ kind: 'local', path: this.opts.localPath }, (sock) => this.acceptClient(sock)));
    chmodSync(this.opts.localPath, 0o700);
    if (this.opts.overlayUri && this.expectedChildren().length > 0) {
      const target = parseUri(this.opts.overlayUri);
      if (target.kind === 'local') try { unlinkSync(target.path); } catch { /* not there */ }
      this.servers.push(await this.serve(target, (sock) => this.acceptChild(sock), this.opts.overlayTls));
    }
  }

  /** With `tlsOpts` and a TCP target, a TLS server: `onConn` only sees peers that passed the handshake. */
  private serve(target: UriTarget, onConn: (s: net.Socket) => void, tlsOpts?: OverlayTls): Promise<net.Server> {
    return new Promise((resolve, reject) => {
      let srv: net.Server;
      if (tlsOpts && target.kind === 'tcp') {
        const ts = tls.createServer(tlsServerOptions(tlsOpts), onConn);
        // A peer without the instance's certificate (or speaking plain TCP) is dropped before it can send anything.
        ts.on('tlsClientError', (e, s) => this.log(`overlay: refused a TLS peer${s.remoteAddress ? ` from ${s.remoteAddress}` : ''}: ${e.message}`));
        srv = ts;
      } else {
        srv = net.createServer(onConn);
      }
      srv.once('error', reject);
      if (target.kind === 'local') srv.listen(target.path, () => resolve(srv));
      else srv.listen(target.port, target.host, () => resolve(srv));
    });
  }

  private parentLink(): { uri: string; token: string } {
    if (this.opts.parentLink) return this.opts.parentLink();
    const uri = this.opts.parentUri;
    if (!uri) throw new FractalError(ErrorCodes.INVALID_ARGUMENT, `rank ${this.rank} needs the parent's overlay URI`);
    return { uri, token: this.opts.overlayToken ?? '' };
  }

  /** Dials the parent and says hello; on success the link carries the traffic queued meanwhile. */
  private async linkParent(): Promise<void> {
    const { uri, token } = this.parentLink();
    const target = parseUri(uri);
    const conn = this.opts.overlayTls && target.kind === 'tcp' ? await dialTls(target, this.opts.overlayTls) : await dial(uri);
    const peer = new ConnPeer('parent', conn, OWNER_CRED, this.parentOf(this.rank));
    conn.on('message', (m) => { peer.lastHeard = Date.now(); this.onMessage(peer, m); });
    conn.on('close', () => this.onPeerClose(peer));
    // The parent expects hello first; only then may queued traffic flow.
    try {
      await this.linkCall(peer, 'overlay.hello', { rank: this.rank, token });
    } catch (e) {
      conn.close();
      throw e;
    }
    if (conn.isClosed) throw new FractalError(ErrorCodes.CONNECTION, 'the parent closed the link after hello');
    // Requests queued before the link was up keep their ids; their responses route back through the same table.
    for (const [id, fwd] of this.parentStandIn.forwards) peer.forwards.set(id, fwd);
    peer.nextId = Math.max(peer.nextId, this.parentStandIn.nextId);
    this.parentStandIn.forwards.clear();
    this.parent = peer;
    peer.lastHeard = Date.now();
    this.startHeartbeat();
    for (const m of this.parentQueue.splice(0)) peer.send(m);
    if (this.linkedOnce) {
      this.log(`re-joined the overlay through rank ${peer.rank}`);
      // Our whole subtree must re-announce itself: the parent side may be a new broker (rank 0 restarted).
      this.publish('overlay.rejoined', { rank: this.rank });
    }
    this.linkedOnce = true;
  }

  /**
   * The parent link was lost (the parent crashed or was restarted): keep this broker, its executor
   * and its jobs, and dial again until a parent answers. Credentials are re-read on every attempt.
   */
  private async reconnectParent(): Promise<void> {
    let delay = 50;
    while (!this.stopping && !this.parent) {
      await new Promise((r) => setTimeout(r, delay));
      if (this.stopping || this.parent) return;
      try {
        await this.linkParent();
        return;
      } catch (e) {
        delay = Math.min(1000, delay * 2);
        const msg = (e as Error).message;
        if (msg !== this.lastLinkError) this.log(`parent link: ${msg}; retrying`);
        this.lastLinkError = msg;
      }
    }
  }
  private lastLinkError = '';

  /** True when `ancestor` is this rank or above it in the tree. */
  private isSelfOrAncestor(ancestor: number): boolean {
    let r = this.rank;
    for (;;) {
      if (r === ancestor) return true;
      if (r === 0) return false;
      r = this.parentOf(r);
    }
  }

  /** The ranks of the subtree rooted at `rank` (itself included). */
  subtree(rank: number): number[] {
    const out: number[] = [];
    const todo = [rank];
    while (todo.length > 0) {
      const r = todo.pop()!;
      if (r >= this.size) continue;
      out.push(r);
      for (let i = 1; i <= this.opts.fanout; i++) todo.push(r * this.opts.fanout + i);
    }
    return out.sort((a, b) => a - b);
  }

  /** Connects to the parent broker (retrying while it starts), then waits for this broker's own children. */
  async joinOverlay(timeoutMs = 30000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    if (this.rank > 0) {
      for (;;) {
        try {
          await this.linkParent();
          break;
        } catch (e) {
          if (Date.now() > deadline) throw e;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }
    const expected = this.expectedChildren();
    while (expected.some((c) => !this.children.has(c))) {
      if (Date.now() > deadline) throw new FractalError(ErrorCodes.TIMEOUT, `rank ${this.rank}: overlay children ${expected.filter((c) => !this.children.has(c)).join(',')} did not connect within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        this.childWaiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  private linkCall(peer: Peer, topic: string, payload: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const id = this.internal.nextId++;
      this.internal.pending.set(id, { resolve, reject });
      const fid = peer.nextId++;
      peer.forwards.set(fid, { origin: this.internal, origId: id });
      peer.send({ t: 0, id: fid, topic, payload, cred: OWNER_CRED });
    });
  }

  private acceptClient(sock: net.Socket): void {
    const peer = new ConnPeer('client', new Connection(sock), OWNER_CRED);
    this.clients.add(peer);
    peer.conn.on('message', (m) => this.onMessage(peer, m));
    peer.conn.on('close', () => this.onPeerClose(peer));
  }

  private acceptChild(sock: net.Socket): void {
    // A child identifies itself with overlay.hello before anything else; until then only a small frame is accepted.
    const conn = new Connection(sock, { maxFrame: PREAUTH_MAX_FRAME });
    const onFirst = (m: Message) => {
      if (m.t !== 0 || m.topic !== 'overlay.hello') {
        conn.close(new Error('overlay peer did not say hello'));
        return;
      }
      conn.off('message', onFirst);
      const { rank, token } = m.payload as { rank?: unknown; token?: unknown };
      if ((this.opts.overlayToken ?? '') !== token) {
        conn.send({ t: 1, id: m.id, error: { code: ErrorCodes.PERMISSION, message: 'overlay hello with a wrong token' } });
        conn.close();
        return;
      }
      if (typeof rank !== 'number' || this.parentOf(rank) !== this.rank) {
        conn.send({ t: 1, id: m.id, error: { code: ErrorCodes.PROTOCOL, message: `rank ${String(rank)} is not a child of rank ${this.rank}` } });
        conn.close();
        return;
      }
      conn.maxFrame = defaultMaxFrame();
      const peer = new ConnPeer('child', conn, OWNER_CRED, rank);
      // A restarted child replaces its dead predecessor's link, if that one is not closed yet.
      const old = this.children.get(rank);
      if (old) { this.children.delete(rank); old.conn.close(); }
      this.children.set(rank, peer);
      conn.on('message', (mm) => { peer.lastHeard = Date.now(); this.onMessage(peer, mm); });
      conn.on('close', () => this.onPeerClose(peer));
      conn.send({ t: 1, id: m.id, payload: { rank: this.rank } });
      this.startHeartbeat();
      const w = this.childWaiters;
      this.childWaiters = [];
      for (const fn of w) fn();
    };
    conn.on('message', onFirst);
  }

  private onPeerClose(peer: ConnPeer): void {
    for (const req of [...peer.open]) req.cancel();
    const err = { code: ErrorCodes.CONNECTION, message: `lost connection to ${peer.kind}${peer.rank >= 0 ? ' rank ' + peer.rank : ''}` };
    for (const [, fwd] of peer.forwards) fwd.origin.send({ t: 1, id: fwd.origId, error: err });
    peer.forwards.clear();
    if (peer.kind === 'client') this.clients.delete(peer);
    else if (peer.kind === 'child') {
      if (this.children.get(peer.rank) !== peer) return; // replaced by a new link already
      this.children.delete(peer.rank);
      // The whole subtree is cut off until it re-joins (its brokers keep running and dial again).
      if (!this.stopping) this.publish('overlay.lost', { rank: peer.rank, ranks: this.subtree(peer.rank) });
    } else if (peer.kind === 'parent' && this.parent === peer) {
      this.parent = undefined;
      if (this.stopping) return;
      // Jobs on this rank keep running: only a real shutdown (broker.shutdown, SIGTERM) stops them.
      this.log('lost connection to parent; keeping jobs running and reconnecting');
      void this.reconnectParent();
    }
  }

  // ---- routing ----------------------------------------------------------

  private onMessage(from: Peer, m: Message): void {
    // Heartbeats stay on their link: answered (id 0, which no forward uses) and never routed.
    if (m.t === 0 && m.topic === 'overlay.ping' && (from.kind === 'child' || from.kind === 'parent')) {
      (from as ConnPeer).send({ t: 1, id: 0, payload: null });
      return;
    }
    if (m.t === 0) {
      // Clients cannot claim an identity; overlay links carry the original one.
      const cred = from.kind === 'client' || !m.cred ? from.cred : m.cred;
      if (from.kind === 'client') m.fromClient = true;
      else if (from.kind === 'internal') delete m.fromClient;
      this.route(m, from, cred);
    } else if (m.t === 1) {
      const fwd = from.forwards.get(m.id);
      if (!fwd) return;
      if (!m.more) from.forwards.delete(m.id);
      const out: ResponseMsg = { ...m, id: fwd.origId };
      fwd.origin.send(out);
    } else {
      this.onEvent(from, m);
    }
  }

  private route(m: RequestMsg, from: Peer, cred: Cred): void {
    // Before the modules are loaded a client would get "no service": tell it to retry instead (broker.* always works).
    if (!this.ready && m.fromClient && serviceOf(m.topic) !== 'broker') {
      return this.reject(m, from, new FractalError(ErrorCodes.STARTING, `broker rank ${this.rank} is starting: retry in a moment`));
    }
    const nodeid = m.nodeid ?? NODEID_ANY;
    if (nodeid === NODEID_LOCAL || nodeid === this.rank) return this.dispatch(m, from, cred);
    if (nodeid === NODEID_ANY) {
      if (this.services.has(serviceOf(m.topic))) return this.dispatch(m, from, cred);
      if (this.parent || this.rank > 0) return this.forward(m, from, cred, this.parent);
      return this.reject(m, from, new FractalError(ErrorCodes.NO_SERVICE, `no service "${serviceOf(m.topic)}" in this instance (topic ${m.topic})`));
    }
    if (nodeid < 0 || nodeid >= this.size || !Number.isInteger(nodeid)) {
      return this.reject(m, from, new FractalError(ErrorCodes.INVALID_ARGUMENT, `no broker rank ${nodeid}: the instance has ranks 0-${this.size - 1}`));
    }
    const child = this.childToward(nodeid);
    const link = child >= 0 ? this.children.get(child) : this.parent;
    if (!link && child < 0 && this.rank > 0 && !this.stopping) return this.forward(m, from, cred, undefined);
    if (!link) return this.reject(m, from, new FractalError(ErrorCodes.CONNECTION, `broker rank ${nodeid} is not reachable from rank ${this.rank}`));
    this.forward(m, from, cred, link);
  }

  /** Sends a request on over a link; `undefined` means the parent link that is not up yet. */
  private forward(m: RequestMsg, from: Peer, cred: Cred, link: Peer | undefined): void {
    const target = link ?? this.pendingParent;
    const id = target.nextId++;
    if (!m.noresponse) target.forwards.set(id, { origin: from, origId: m.id });
    const out: RequestMsg = { ...m, id, cred };
    if (link) link.send(out);
    else this.parentQueue.push(out);
  }

  /** Stands in for the parent link until it connects: forwards are recorded against it and moved over. */
  private get pendingParent(): Peer {
    return this.parentStandIn;
  }
  private readonly parentStandIn = new (class extends Peer {
    readonly kind = 'parent' as const;
    send(): void {}
  })(OWNER_CRED);

  private reject(m: RequestMsg, from: Peer, e: FractalError): void {
    if (!m.noresponse) from.send({ t: 1, id: m.id, error: e.toWire() });
  }

  private dispatch(m: RequestMsg, from: Peer, cred: Cred): void {
    const entry = this.handlers.get(m.topic);
    if (!entry) {
      const svc = serviceOf(m.topic);
      return this.reject(m, from, new FractalError(ErrorCodes.NO_SERVICE, this.services.has(svc) ? `service "${svc}" has no method "${m.topic.slice(svc.length + 1)}"` : `no service "${svc}" on broker rank ${this.rank}`));
    }
    if (entry.internal && (from.kind === 'client' || m.fromClient)) {
      return this.reject(m, from, new FractalError(ErrorCodes.PERMISSION, `${m.topic} is internal to the instance; clients use the public services (see docs/api.md)`));
    }
    if (entry.ownerOnly && (cred.rolemask & ROLE_OWNER) === 0) {
      return this.reject(m, from, new FractalError(ErrorCodes.PERMISSION, `${m.topic} is restricted to the instance owner`));
    }
    if (m.payload !== undefined && (typeof m.payload !== 'object' || m.payload === null || Array.isArray(m.payload))) {
      return this.reject(m, from, new FractalError(ErrorCodes.INVALID_ARGUMENT, `${m.topic}: the payload must be an object (got ${m.payload === null ? 'null' : Array.isArray(m.payload) ? 'an array' : typeof m.payload})`));
    }
    const req = new ReqImpl(m, from, cred);
    this.invoke(entry.handler, req);
  }

  private invoke(handler: Handler, req: ReqImpl): void {
    let r: unknown;
    try {
      r = handler(req);
    } catch (e) {
      req.error(e);
      return;
    }
    if (r === DEFERRED) {
      req.origin.open.add(req);
    } else if (r instanceof Promise) {
      req.origin.open.add(req);
      r.then((v) => { if (v !== DEFERRED) req.respond(v); }, (e: unknown) => req.error(e));
    } else {
      req.respond(r);
    }
  }

  // ---- events -------------------------------------------------------------

  publish(topic: string, payload: unknown): void {
    const ev: EventMsg = { t: 2, topic, payload };
    if (this.parent) this.parent.send(ev);
    else if (this.rank > 0) this.parentQueue.push(ev);
    else this.fanout(ev);
  }

  private onEvent(from: Peer, ev: EventMsg): void {
    if (from.kind === 'parent') this.fanout(ev);
    else if (from.kind === 'child') {
      if (this.parent) this.parent.send(ev);
      else this.fanout(ev);
    }
  }

  private fanout(ev: EventMsg): void {
    for (const c of this.children.values()) c.send(ev);
    for (const s of this.moduleSubs) {
      if (!ev.topic.startsWith(s.prefix)) continue;
      try {
        s.fn(ev.topic, ev.payload);
      } catch (e) {
        this.log(`event ${ev.topic}: subscriber failed: ${(e as Error).message}`);
      }
    }
    for (const c of this.clients) if (c.subs.some((p) => ev.topic.startsWith(p))) c.send(ev);
  }

  // ---- modules ------------------------------------------------------------

  register(entries: ServiceEntry[]): void {
    for (const e of entries) {
      this.handlers.set(e.topic, e);
      this.services.add(serviceOf(e.topic));
    }
  }

  rpc<T>(topic: string, payload: unknown = {}, nodeid?: number, onData?: (p: unknown) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const id = this.internal.nextId++;
      this.internal.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onData });
      const m: RequestMsg = { t: 0, id, topic, payload };
      if (nodeid !== undefined) m.nodeid = nodeid;
      // Deliver asynchronously so a module never re-enters itself mid-handler.
      queueMicrotask(() => this.route(m, this.internal, OWNER_CRED));
    });
  }

  contextFor(mod: BrokerModule): ModuleContext {
    return {
      broker: this.info,
      store: this.opts.store,
      register: (entries) => this.register(entries),
      rpc: <T>(topic: string, payload?: unknown, nodeid?: number) => this.rpc<T>(topic, payload, nodeid),
      rpcStream: (topic, payload, onData, nodeid) => this.rpc<void>(topic, payload, nodeid, onData).then(() => undefined),
      publish: (topic, payload) => this.publish(topic, payload),
      subscribe: (prefix, fn) => { this.moduleSubs.push({ prefix, fn }); },
      log: (msg) => this.log(`${mod.name}: ${msg}`),
    };
  }

  async loadModules(mods: BrokerModule[]): Promise<void> {
    for (const mod of mods) {
      if (mod.ranks === 'leader' && this.rank !== 0) continue;
      await mod.start(this.contextFor(mod));
      this.modules.push(mod);
    }
  }

  log(msg: string): void {
    // Never throws (a full disk under the log file must not stop the broker; see main.ts).
    try { process.stderr.write(`fractal-broker[${this.rank}]: ${msg}\n`); } catch { /* lost */ }
  }

  // ---- built-in services --------------------------------------------------

  private registerBuiltins(): void {
    this.register([
      { topic: 'broker.ping', handler: (req) => ({ rank: this.rank, pid: process.pid, payload: req.payload }) },
      {
        topic: 'broker.info',
        handler: () => ({ rank: this.rank, size: this.size, pid: process.pid, uri: this.info.uri, hostname: this.info.hostname, attrs: this.info.attrs, rss: process.memoryUsage.rss(), memory: process.memoryUsage(), statedir: this.info.statedir, t_start: this.tStart }),
      },
      {
        topic: 'broker.sub',
        handler: (req) => {
          const t = (req.payload as { topic?: unknown }).topic;
          if (typeof t !== 'string') throw new FractalError(ErrorCodes.INVALID_ARGUMENT, 'broker.sub needs {topic: string} (a topic prefix)');
          const peer = (req as ReqImpl).origin;
          if (!peer.subs.includes(t)) peer.subs.push(t);
          return {};
        },
      },
      {
        topic: 'broker.unsub',
        handler: (req) => {
          const t = (req.payload as { topic?: unknown }).topic;
          const peer = (req as ReqImpl).origin;
          peer.subs = peer.subs.filter((s) => s !== t);
          return {};
        },
      },
      {
        topic: 'broker.shutdown',
        ownerOnly: true,
        handler: (req) => {
          if (this.rank !== 0) throw new FractalError(ErrorCodes.INVALID_ARGUMENT, 'send broker.shutdown to rank 0');
          // Answer first, then take the instance down.
          req.respond({ shutting_down: true });
          setImmediate(() => this.publish('broker.shutdown', {}));
          return DEFERRED;
        },
      },
    ]);
    this.moduleSubs.push({ prefix: 'broker.shutdown', fn: () => void this.shutdown() });
    this.moduleSubs.push({
      prefix: 'overlay.rejoined',
      fn: (_t, p) => {
        const r = (p as { rank?: unknown }).rank;
        if (typeof r === 'number' && this.isSelfOrAncestor(r) && !this.stopping) this.onRejoin();
      },
    });
  }

  // ---- shutdown -----------------------------------------------------------

  async shutdown(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.heartbeat);
    for (const mod of [...this.modules].reverse()) {
      try {
        await mod.stop?.();
      } catch (e) {
        this.log(`${mod.name}: stop failed: ${(e as Error).message}`);
      }
    }
    // Wait (briefly) for children to go first so the tree unwinds leaf-up.
    const deadline = Date.now() + 5000;
    while (this.children.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const s of this.servers) s.close();
    for (const c of this.clients) c.conn.close();
    this.parent?.conn.close();
    // Work a module deferred to the next turn before it was stopped still finds the store open.
    await new Promise((r) => setImmediate(r));
    this.opts.store?.close();
    try { unlinkSync(this.opts.localPath); } catch { /* gone */ }
    this.onShutdown();
  }
}
