/**
 * Static bootstrap of a system instance from a TOML file with Flux's
 * `[bootstrap]` table, so that Flux admins reuse theirs:
 *
 *   [bootstrap]
 *   default_port = 8050
 *   default_bind = "tcp://0.0.0.0:%p"      # or tcp://eth0:%p (an interface)
 *   default_connect = "tcp://%h:%p"
 *   tls_dir = "/etc/fractal/tls"           # `fractal keygen DIR`
 *   fanout = 2
 *   hosts = [ { host = "node[0-15]" }, { host = "login", bind = "tcp://10.0.0.1:9001", connect = "tcp://10.0.0.1:9001" } ]
 *
 * Every host runs `fractal start --config FILE`; a broker's rank is the
 * position of its hostname in the expanded host list, its overlay listens
 * on its `bind` URI and it dials its tree parent's `connect` URI (`%h` is
 * the host's name, `%p` the port).
 */
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { invalid } from '../errors/index.js';
import { Hostlist } from '../resource/index.js';

export interface BootstrapHost {
  host: string;
  /** Where this host's broker listens for its overlay children (tcp://ADDR:PORT, ADDR an IP or 0.0.0.0). */
  bind: string;
  /** Where its overlay children dial it (tcp://HOST:PORT). */
  connect: string;
}

export interface Bootstrap {
  /** The file it came from (for messages). */
  file: string;
  hosts: BootstrapHost[];
  fanout: number;
  /** The instance's TLS material (absolute; relative paths are taken from the file's directory). */
  tlsDir?: string;
}

const KEYS = new Set(['default_port', 'default_bind', 'default_connect', 'hosts', 'tls_dir', 'fanout', 'curve_cert', 'enable_ipv6']);
const HOST_KEYS = new Set(['host', 'bind', 'connect', 'port', 'parent']);

/** Reads and checks a bootstrap file; every mistake names the file and the key. */
export function loadBootstrap(file: string): Bootstrap {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw invalid(`--config ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    throw invalid(`--config ${file}: not valid TOML: ${(e as Error).message.split('\n')[0]}`);
  }
  return parseBootstrap(doc, file);
}

export function parseBootstrap(doc: Record<string, unknown>, file: string): Bootstrap {
  const where = (k: string) => `${file}: [bootstrap] ${k}`;
  const b = doc['bootstrap'];
  if (b === undefined || typeof b !== 'object' || b === null || Array.isArray(b)) throw invalid(`${file}: no [bootstrap] table; see docs/multihost.md for an example`);
  const t = b as Record<string, unknown>;
  for (const k of Object.keys(t)) if (!KEYS.has(k)) throw invalid(`${where(k)}: unknown key; use ${[...KEYS].filter((x) => x !== 'curve_cert' && x !== 'enable_ipv6').join(', ')}`);
  if (t['curve_cert'] !== undefined) throw invalid(`${where('curve_cert')}: Fractal's overlay uses TLS, not CURVE: make a key pair with \`fractal keygen DIR\` and set tls_dir = "DIR"`);
  const port = t['default_port'];
  if (port !== undefined && !validPort(port)) throw invalid(`${where('default_port')}: must be a port number 1-65535 (got ${JSON.stringify(port)})`);
  const str = (k: string, v: unknown): string | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') throw invalid(`${where(k)}: must be a non-empty string (got ${JSON.stringify(v)})`);
    return v;
  };
  const defBind = str('default_bind', t['default_bind']);
  const defConnect = str('default_connect', t['default_connect']);
  const fanout = t['fanout'] ?? 2;
  if (!Number.isInteger(fanout) || (fanout as number) < 1 || (fanout as number) > 1024) throw invalid(`${where('fanout')}: must be an integer 1-1024 (got ${JSON.stringify(fanout)})`);
  const tls = str('tls_dir', t['tls_dir']);
  const list = t['hosts'];
  if (!Array.isArray(list) || list.length === 0) throw invalid(`${where('hosts')}: must be a non-empty array such as [ { host = "node[0-3]" } ]`);
  const hosts: BootstrapHost[] = [];
  const seen = new Map<string, number>();
  list.forEach((entry: unknown, i: number) => {
    const at = `hosts[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw invalid(`${where(at)}: must be a table such as { host = "node[0-3]" }`);
    const e = entry as Record<string, unknown>;
    for (const k of Object.keys(e)) if (!HOST_KEYS.has(k)) throw invalid(`${where(at)}.${k}: unknown key; use host, bind, connect, port`);
    if (e['parent'] !== undefined) throw invalid(`${where(at)}.parent: custom tree topologies are not supported; set fanout instead`);
    const hl = str(`${at}.host`, e['host']);
    if (hl === undefined) throw invalid(`${where(at)}: needs host = "NAME" or a hostlist such as "node[0-3]"`);
    let names: string[];
    try { names = Hostlist.parse(hl).toArray(); } catch (err) { throw invalid(`${where(at)}.host: ${(err as Error).message}`); }
    const p = e['port'] ?? port;
    if (p !== undefined && !validPort(p)) throw invalid(`${where(at)}.port: must be a port number 1-65535 (got ${JSON.stringify(p)})`);
    const bind = str(`${at}.bind`, e['bind']) ?? defBind;
    const connect = str(`${at}.connect`, e['connect']) ?? defConnect;
    for (const name of names) {
      if (seen.has(name)) throw invalid(`${where(at)}: host "${name}" is listed twice (also in hosts[${seen.get(name)}]); a host runs one broker`);
      seen.set(name, i);
      if (names.length > 1 && (e['bind'] !== undefined || e['connect'] !== undefined) && !`${e['bind'] ?? ''}${e['connect'] ?? ''}`.includes('%h')) {
        throw invalid(`${where(at)}: bind/connect without %h would give all ${names.length} hosts the same address; use %h or one entry per host`);
      }
      hosts.push({
        host: name,
        bind: expand(bind, name, p, `${at}.bind (or default_bind)`, where),
        connect: expand(connect, name, p, `${at}.connect (or default_connect)`, where),
      });
    }
  });
  const out: Bootstrap = { file, hosts, fanout: fanout as number };
  if (tls !== undefined) out.tlsDir = isAbsolute(tls) ? tls : resolve(dirname(resolve(file)), tls);
  return out;
}

function validPort(p: unknown): boolean {
  return Number.isInteger(p) && (p as number) >= 1 && (p as number) <= 65535;
}

/** Fills %h and %p; the result must be tcp://HOST:PORT. */
function expand(tpl: string | undefined, host: string, port: unknown, key: string, where: (k: string) => string): string {
  if (tpl === undefined) throw invalid(`${where(key)}: missing; e.g. default_bind = "tcp://0.0.0.0:%p" and default_connect = "tcp://%h:%p" with default_port = 8050`);
  if (tpl.includes('%p') && port === undefined) throw invalid(`${where(key)}: "${tpl}" uses %p but no port is set; set default_port (or port in the host's entry)`);
  const uri = tpl.replaceAll('%h', host).replaceAll('%p', String(port));
  if (!/^tcp:\/\/[^:/\s]+:\d{1,5}$/.test(uri) || !validPort(Number(uri.slice(uri.lastIndexOf(':') + 1)))) {
    throw invalid(`${where(key)}: "${tpl}" gives "${uri}" for ${host}: expected tcp://HOST:PORT`);
  }
  return uri;
}

/** This host's rank: the position of `hostname` in the host list. */
export function rankOf(b: Bootstrap, hostname: string): number {
  const i = b.hosts.findIndex((h) => h.host === hostname);
  if (i < 0) {
    const short = hostname.split('.')[0]!;
    const j = b.hosts.findIndex((h) => h.host === short);
    if (j >= 0) return j;
    throw invalid(`${b.file}: this host's name "${hostname}" is not in [bootstrap] hosts (${Hostlist.fromArray(b.hosts.map((h) => h.host)).encode()}); add it, or give this host's name with -o hostname=NAME`);
  }
  return i;
}

/** The tree parent of `rank` (fan-out k, rank 0 at the root), as the overlay builds it. */
export function parentRank(rank: number, fanout: number): number {
  return Math.floor((rank - 1) / fanout);
}

/**
 * A bind URI the broker can listen on: `tcp://*:P` and `tcp://0.0.0.0:P`
 * listen everywhere; `tcp://IFACE:P` takes the interface's IPv4 address.
 */
export function listenUri(bind: string): string {
  const m = /^tcp:\/\/([^:/]+):(\d+)$/.exec(bind)!;
  const host = m[1]!;
  if (host === '*') return `tcp://0.0.0.0:${m[2]}`;
  const nic = networkInterfaces()[host];
  if (nic) {
    const v4 = nic.find((a) => a.family === 'IPv4');
    if (!v4) throw invalid(`bind ${bind}: interface ${host} has no IPv4 address`);
    return `tcp://${v4.address}:${m[2]}`;
  }
  return bind;
}
