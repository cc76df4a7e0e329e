/**
 * Hosts for multi-host tests: Linux network namespaces on this machine.
 *
 * `makeHosts(n)` creates a namespace holding a bridge (the "switch") and n
 * host namespaces, each with an `eth0` veth to that bridge, an address
 * 10.200.0.(i+1)/24, loopback up, and an /etc/hosts of all the hosts (`ip
 * netns exec` bind-mounts /etc/netns/NS/hosts). A process started with
 * `host.spawn` runs in its host's namespace and in a UTS namespace of its
 * own whose hostname is the host's name, so `hostname` and os.hostname()
 * tell the hosts apart. Each harness has its own bridge namespace, so two
 * test files may use the same addresses at once.
 *
 * `cleanup()` kills every process in the namespaces and deletes them; it also
 * runs at process exit, and namespaces left by a test process that died
 * (the pid in their name is gone) are swept at the next `makeHosts`.
 * Needs root and iproute2 (`.ci/run` installs it); `netnsAvailable()` says
 * whether this machine can.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';

export interface Host {
  name: string;
  ns: string;
  addr: string;
  /** Runs argv in this host (its network and hostname). */
  spawn(argv: string[], opts?: SpawnOptions): ChildProcess;
  /** Runs argv in this host to its end: exit code and output. */
  run(argv: string[], opts?: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string }): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

export interface Hosts {
  hosts: Host[];
  /** Cuts a host off the network (its eth0 down) and connects it again. */
  linkDown(h: Host): void;
  linkUp(h: Host): void;
  cleanup(): void;
}

const PREFIX = 'frt';
let counter = 0;
const live = new Set<Hosts>();
process.on('exit', () => { for (const h of live) h.cleanup(); });

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** True when this process may create network namespaces (root with iproute2 and unshare). */
export function netnsAvailable(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = `${PREFIX}${process.pid}p`;
  try {
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
    execFileSync('unshare', ['--uts', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    try { ip('netns', 'del', probe); } catch { /* never made */ }
    return false;
  }
}

/** Deletes namespaces of earlier test processes that are gone (their pid is in the name). */
function sweep(): void {
  let names: string[];
  try { names = ip('netns', 'list').split('\n').map((l) => l.split(' ')[0]!).filter(Boolean); } catch { return; }
  for (const n of names) {
    const m = new RegExp(`^${PREFIX}(\\d+)[a-z]`).exec(n);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = true;
    try { process.kill(pid, 0); } catch { alive = false; }
    if (!alive) deleteNs(n);
  }
}

function deleteNs(ns: string): void {
  try {
    for (const pid of ip('netns', 'pids', ns).split('\n').filter(Boolean)) {
      try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
    }
  } catch { /* no such namespace */ }
  try { ip('netns', 'del', ns); } catch { /* gone */ }
  rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
}

export function makeHosts(n: number, namePrefix = 'node'): Hosts {
  if (n < 1 || n > 200) throw new Error('makeHosts: 1-200 hosts');
  sweep();
  const id = `${PREFIX}${process.pid}${String.fromCharCode(97 + (counter++ % 26))}`;
  const br = `${id}br`;
  const made: string[] = [];
  const hosts: Host[] = [];
  const self: Hosts = {
    hosts,
    linkDown: (h) => { ip('-n', h.ns, 'link', 'set', 'eth0', 'down'); },
    linkUp: (h) => { ip('-n', h.ns, 'link', 'set', 'eth0', 'up'); },
    cleanup: () => {
      if (!live.delete(self)) return;
      for (const ns of made.reverse()) deleteNs(ns);
    },
  };
  live.add(self);
  try {
    ip('netns', 'add', br);
    made.push(br);
    ip('-n', br, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', br, 'link', 'set', 'br0', 'up');
    const names = Array.from({ length: n }, (_, i) => `${namePrefix}${i}`);
    const etcHosts = ['127.0.0.1 localhost', ...names.map((h, i) => `10.200.0.${i + 1} ${h}`)].join('\n') + '\n';
    names.forEach((name, i) => {
      const ns = `${id}${i}`;
      ip('netns', 'add', ns);
      made.push(ns);
      // Created inside the bridge namespace, one end moved to the host as eth0.
      ip('-n', br, 'link', 'add', `p${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      ip('-n', br, 'link', 'set', `p${i}`, 'master', 'br0');
      ip('-n', br, 'link', 'set', `p${i}`, 'up');
      const addr = `10.200.0.${i + 1}`;
      ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      mkdirSync(`/etc/netns/${ns}`, { recursive: true });
      writeFileSync(`/etc/netns/${ns}/hosts`, etcHosts);
      writeFileSync(`/etc/netns/${ns}/hostname`, name + '\n');
      const spawnIn = (argv: string[], opts: SpawnOptions = {}) =>
        spawn('ip', ['netns', 'exec', ns, 'unshare', '--uts', 'sh', '-c', 'hostname "$0" && exec "$@"', name, ...argv], opts);
      hosts.push({
        name, ns, addr,
        spawn: spawnIn,
        run: (argv, o = {}) => new Promise((res, rej) => {
          const c = spawnIn(argv, { stdio: ['ignore', 'pipe', 'pipe'], ...(o.env ? { env: o.env } : {}), ...(o.cwd ? { cwd: o.cwd } : {}) });
          let stdout = '';
          let stderr = '';
          c.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
          c.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
          const t = setTimeout(() => { c.kill('SIGKILL'); rej(new Error(`${name}: ${argv.join(' ')} did not end within ${o.timeoutMs ?? 120000} ms; stderr: ${stderr}`)); }, o.timeoutMs ?? 120000);
          c.on('error', (e) => { clearTimeout(t); rej(e); });
          c.on('close', (code) => { clearTimeout(t); res({ code, stdout, stderr }); });
        }),
      });
    });
  } catch (e) {
    self.cleanup();
    throw e;
  }
  return self;
}
