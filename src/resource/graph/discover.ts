/**
 * Discovery of the local machine's resources from Linux's /sys and /proc:
 * sockets (physical packages), physical cores (hyperthreads folded, as
 * hwloc's Core objects), NUMA memory and GPUs. File access is injected
 * (`read`, `list`), so this stays a pure function and tests can feed it a
 * fake /sys; GPU discovery via nvidia-smi is the caller's (pass `gpus`).
 */
import { GraphStore } from './store.js';

export interface DiscoverIo {
  /** File content, or undefined when the file does not exist. */
  read(path: string): string | undefined;
  /** Directory entries, or [] when the directory does not exist. */
  list(path: string): string[];
}

export interface DiscoverOptions {
  hostname: string;
  /** Rank of this host (default 0). */
  rank?: number;
  /** GPUs found by other means (nvidia-smi -L); default: /sys/class/drm cards with a PCI vendor of NVIDIA or AMD. */
  gpus?: number;
}

interface Cpu {
  pkg: number;
  core: number;
  node: number;
}

/** The machine as cluster0 → HOST → socket → core (+ memory per NUMA node, GPUs). */
export function discoverLocal(io: DiscoverIo, opts: DiscoverOptions): GraphStore {
  const cpus: Cpu[] = [];
  const base = '/sys/devices/system/cpu';
  const numa = new Map<number, number>();
  for (const n of io.list('/sys/devices/system/node')) {
    const m = /^node(\d+)$/.exec(n);
    if (!m) continue;
    const list = io.read(`/sys/devices/system/node/${n}/cpulist`)?.trim() ?? '';
    for (const part of list.split(',')) {
      const r = /^(\d+)(?:-(\d+))?$/.exec(part);
      if (!r) continue;
      for (let c = Number(r[1]); c <= Number(r[2] ?? r[1]); c++) numa.set(c, Number(m[1]));
    }
  }
  for (const e of io.list(base)) {
    const m = /^cpu(\d+)$/.exec(e);
    if (!m) continue;
    const id = Number(m[1]);
    if (io.read(`${base}/${e}/online`)?.trim() === '0') continue;
    const pkg = Number(io.read(`${base}/${e}/topology/physical_package_id`)?.trim() ?? '0');
    const core = Number(io.read(`${base}/${e}/topology/core_id`)?.trim() ?? String(id));
    cpus.push({ pkg: Number.isFinite(pkg) && pkg >= 0 ? pkg : 0, core: Number.isFinite(core) ? core : id, node: numa.get(id) ?? 0 });
  }
  if (cpus.length === 0) {
    // No /sys: count processors in /proc/cpuinfo.
    const n = (io.read('/proc/cpuinfo')?.match(/^processor\s*:/gm) ?? []).length;
    for (let i = 0; i < Math.max(1, n); i++) cpus.push({ pkg: 0, core: i, node: 0 });
  }
  // One entry per physical core: (package, core id).
  const cores = new Map<string, Cpu>();
  for (const c of cpus) cores.set(`${c.pkg}:${c.core}`, c);
  const sorted = [...cores.values()].sort((a, b) => a.pkg - b.pkg || a.core - b.core);
  const pkgs = [...new Set(sorted.map((c) => c.pkg))].sort((a, b) => a - b);
  const memKB = Number(/MemTotal:\s+(\d+)/.exec(io.read('/proc/meminfo') ?? '')?.[1] ?? 0);
  let gpus = opts.gpus;
  if (gpus === undefined) {
    gpus = 0;
    for (const d of io.list('/sys/class/drm')) {
      if (!/^card\d+$/.test(d)) continue;
      const vendor = io.read(`/sys/class/drm/${d}/device/vendor`)?.trim();
      if (vendor === '0x10de' || vendor === '0x1002') gpus++;
    }
  }

  const g = new GraphStore(sorted.length + pkgs.length + gpus + 8);
  const root = g.addVertex({ type: 'cluster', basename: 'cluster', id: 0 }, -1);
  const rank = opts.rank ?? 0;
  const node = g.addVertex({ type: 'node', basename: 'node', id: rank, rank, name: opts.hostname }, root);
  let coreId = 0;
  let gpuId = 0;
  pkgs.forEach((pkg, s) => {
    const so = g.addVertex({ type: 'socket', id: s }, node);
    for (const c of sorted) if (c.pkg === pkg) g.addVertex({ type: 'core', id: coreId++ }, so);
    // GPUs are spread over sockets (their real PCI locality is not read here).
    const share = Math.floor(gpus / pkgs.length) + (s < gpus % pkgs.length ? 1 : 0);
    for (let k = 0; k < share; k++) g.addVertex({ type: 'gpu', id: gpuId++ }, so);
    if (memKB > 0) g.addVertex({ type: 'memory', id: s, size: Math.floor(memKB / 1024 / 1024 / pkgs.length), unit: 'GB' }, so);
  });
  return g;
}
