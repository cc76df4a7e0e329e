/** Messages between a broker's shell module and its executor process. */

/** What one rank must run for one job. */
export interface ShellJob {
  id: number;
  /** Global task ranks to start on this node, in order. */
  tasks: number[];
  command: string[];
  cwd: string;
  env: Record<string, string>;
  /** Per-task environment (FRACTAL_TASK_RANK, SLURM_PROCID, ...) is added by the executor. */
  ntasks: number;
  /**
   * The job's cores on this node. The exec module sends the core ids of the job's R; the rank's
   * shell module maps them to CPU ids (`node.cpus` of a nested instance, else id modulo the CPUs)
   * before the executor sees them.
   */
  cpus: number[];
  /** Bind each task to its share of `cpus` (false: `--setopt cpu-affinity=off`). Absent = bind. */
  bind?: boolean;
  /** Cores per task: each task is bound to its own consecutive share of `cpus` when there are enough. */
  cpusPerTask: number;
  /** GPU ids for CUDA_VISIBLE_DEVICES (mapped like `cpus`); empty = none. */
  gpus: number[];
  /** Absolute epoch seconds after which the job is killed; 0 = no limit. */
  expiration: number;
  /** Seconds between SIGTERM and SIGKILL. */
  killGrace: number;
  /** Output file paths ({{id}}-expanded); absent = send output to the broker. */
  stdoutPath?: string;
  stderrPath?: string;
  /** Local task rank offset environment for SLURM_LOCALID. */
  nodeIndex: number;
  /** Bytes of output the job may send from this node; beyond it the executor stops forwarding and ends the tasks. */
  outputLimit?: number;
}

export interface ShellFinished {
  id: number;
  /** Wait status as in waitpid(2): exit code << 8 | signal. The worst over the tasks. */
  status: number;
  timedOut: boolean;
}

export interface ShellOutput {
  id: number;
  task: number;
  stream: 'stdout' | 'stderr';
  data: string;
}

export interface ShellInventory {
  running: number[];
  finished: ShellFinished[];
  /** The executor's process id (absent from executors of older versions). */
  pid?: number;
}

export function waitStatus(code: number | null, signal: NodeJS.Signals | null, signum: (s: NodeJS.Signals) => number): number {
  if (signal) return signum(signal) & 0x7f;
  return ((code ?? 0) & 0xff) << 8;
}

/** The exit code a shell would report for a wait status: the code, or 128 + signal. */
export function returnCode(status: number): number {
  const sig = status & 0x7f;
  return sig ? 128 + sig : (status >> 8) & 0xff;
}
