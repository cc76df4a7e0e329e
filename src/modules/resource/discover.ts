/** What this node offers: hostname, cores and GPUs (discovered, or set by instance attributes for tests). */
import { availableParallelism, hostname } from 'node:os';
import { readdirSync } from 'node:fs';

export interface LocalResources {
  hostname: string;
  ncores: number;
  ngpus: number;
}

function countGpus(): number {
  try {
    return readdirSync('/dev').filter((n) => /^nvidia\d+$/.test(n)).length;
  } catch {
    return 0;
  }
}

export function discoverLocal(attrs: Record<string, string>): LocalResources {
  const cores = attrs['cores-per-rank'] !== undefined ? Number(attrs['cores-per-rank']) : availableParallelism();
  const gpus = attrs['gpus-per-rank'] !== undefined ? Number(attrs['gpus-per-rank']) : countGpus();
  return { hostname: attrs['hostname'] ?? hostname(), ncores: Math.max(1, cores), ngpus: Math.max(0, gpus) };
}
