/**
 * Which modules a broker loads, in order. Per-rank modules load before the
 * overlay is up (so rank 0's inventory can collect every rank); leader
 * modules load on rank 0 once all ranks have joined.
 */
import type { BrokerModule } from '../service/index.js';
import { ResourceModule } from '../modules/resource/index.js';
import { ShellModule } from '../modules/shell/index.js';
import { SchedSimple } from '../modules/sched-simple/index.js';
import { Scheduler } from '../modules/sched/index.js';
import { Exec } from '../modules/exec/index.js';
import { JobManager } from '../modules/job-manager/index.js';
import { JobIngest } from '../modules/job-ingest/index.js';
import { Accounting } from '../modules/accounting/index.js';
import { Archive } from '../modules/archive/index.js';

export function perRankModules(): BrokerModule[] {
  return [new ResourceModule(), new ShellModule()];
}

/** The schedulers an instance can run (`-o sched=NAME`); the first is the default. */
export const SCHEDULERS = ['graph', 'simple'] as const;

export function leaderModules(attrs: Record<string, string> = {}): BrokerModule[] {
  const sched = attrs['sched'] ?? SCHEDULERS[0];
  if (!(SCHEDULERS as readonly string[]).includes(sched)) throw new Error(`-o sched=${sched}: use one of ${SCHEDULERS.join(', ')}`);
  return [sched === 'simple' ? new SchedSimple() : new Scheduler(), new Exec(), new JobManager(), new Accounting(), new JobIngest(), new Archive()];
}
