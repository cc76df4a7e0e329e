/** The job-shape flags shared by submit, run, batch and alloc (Flux names), declared once. */
import type { Command } from 'commander';

/** Flags shared by submit, run and batch-like commands (Flux names). */
export function jobShape(c: Command): Command {
  return c
    .option('-N, --nodes <N>', 'number of nodes')
    .option('-n, --ntasks <N>', 'number of tasks (default 1)')
    .option('-c, --cores-per-task <N>', 'cores per task (default 1)')
    .option('-g, --gpus-per-task <N>', 'GPUs per task')
    .option('-t, --time-limit <DURATION>', 'time limit, e.g. 30s, 10m, 1.5h, 2d (Flux RFC 23)')
    .option('--exclusive', 'allocate whole nodes')
    .option('-A, --account <NAME>', 'charge the job to this account (default: your default account)')
    .option('-q, --qos <NAME>', 'quality of service (see fractal qos list)')
    .option('--queue <NAME>', 'submit to this queue (see fractal queue list)')
    .option('--reservation <NAME>', 'run inside this advance reservation (see fractal reservation)')
    .option('--requires <QUERY>', 'node constraints (RFC 35), e.g. "bigmem", "host:node[1-2]", "-rank:0", "a100 or h100"')
    .option('--urgency <N>', 'urgency 0-31 (0 holds the job, 31 expedites; default 16)')
    .option('--job-name <NAME>', 'job name (default: the command)')
    .option('--output <TEMPLATE>', 'write stdout to this file; {id} and {name} are replaced')
    .option('--error <TEMPLATE>', 'write stderr to this file (default: same as --output)')
    .option('--dependency <DEP>', 'after|afterany|afterok|afternotok:JOBID[,...] (Flux RFC 26)', collect, [])
    .option('--begin-time <TIME>', 'do not start before TIME: +DURATION, epoch seconds or ISO date')
    .option('--setattr <KEY=VAL>', 'set a jobspec attribute (system. prefix assumed), e.g. exec.test.run_duration=0', collect, [])
    .option('--setopt <KEY=VAL>', 'set a shell option, e.g. cpu-affinity=off', collect, [])
    .option('--env <VAR=VAL>', 'set an environment variable for the job', collect, [])
    .option('--cwd <DIR>', 'working directory of the job (default: the current one)');
}

export function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/** The flags of commands that start a nested instance (batch, alloc): the job's shape and the instance's options. */
export function instanceShape(c: Command): Command {
  return jobShape(c)
    .option('-o, --conf <KEY=VAL>', 'option of the nested instance, as `fractal start -o`, e.g. sched.policy=fcfs', collect, []);
}
