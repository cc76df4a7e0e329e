/** What the driver asks the in-instance probe to do, and what the probe reports back (as JSON in a file). */

export interface ThroughputSpec {
  mode: 'throughput';
  label: string;
  /** Jobs per bulk submission; several entries submit in steps (wait --all and an RSS sample after each). */
  steps: number[];
  noop: boolean;
  resultFile: string;
  t0EpochMs: number;
}

export interface LatencySpec {
  mode: 'latency';
  apiSamples: number;
  runSamples: number;
  resultFile: string;
  t0EpochMs: number;
}

export type ProbeSpec = ThroughputSpec | LatencySpec;

export interface CpuBreakdown {
  /** Wall time of the measured window, seconds. */
  elapsed: number;
  /** CPU seconds: broker processes, executors (job-shell hosts), the jobs' processes, the CLI commands, everything else on the machine. */
  brokers: number;
  executors: number;
  jobProcs: number;
  cli: number;
  other: number;
  /** Machine busy CPU seconds in the window, and its capacity (elapsed x CPUs). */
  machineBusy: number;
  capacity: number;
}

export interface StepResult {
  jobs: number;
  /** Cumulative number of jobs submitted to the instance after this step. */
  cumulative: number;
  submitMs: number;
  /** From the start of `fractal submit` to the return of `fractal wait --all`. */
  totalMs: number;
  submitRc: number | null;
  waitRc: number | null;
  rssRank0: number;
  rssAllRanks: number;
  cpu: CpuBreakdown;
}

export interface ThroughputResult {
  mode: 'throughput';
  label: string;
  size: number;
  noop: boolean;
  rssIdleRank0: number;
  rssIdleAllRanks: number;
  steps: StepResult[];
  /** Checked after the last step (after the RSS samples): inactive jobs, and how many did not complete successfully. */
  inactive: number;
  notCompleted: number;
  results: Record<string, number>;
}

export interface LatencyResult {
  mode: 'latency';
  /** Milliseconds per sequential f.submit() round trip. */
  api: number[];
  /** Milliseconds per `fractal run true` (spawn to exit). */
  run: number[];
  runFailures: number;
  /** Milliseconds per `node -e 0` (Node start-up floor of any CLI command). */
  nodeFloor: number[];
}

export type ProbeResult = ThroughputResult | LatencyResult;
