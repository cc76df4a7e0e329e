/**
 * The sim area: a trace-driven simulator. It reads workload traces (SWF),
 * replays them with a virtual clock through the src/sched policies, and
 * reports metrics, a per-job CSV and SVG plots. `--compat rlscheduler`
 * reproduces a published evaluation setup to pin the engine to an oracle.
 */
export { parseSwf, readSwf, SwfParser, SWF_FIELDS, type SwfHeader, type SwfJob, type SwfTrace } from './swf.js';
export {
  ESTIMATE_KINDS, parseEstimateKind, toWorkload, type EstimateKind, type SimJob, type Workload, type WorkloadOptions,
} from './workload.js';
export { simulate, tieKey, type SimOptions, type SimResult, type Timeline } from './engine.js';
export {
  BSLD_TAU, boundedSlowdown, computeMetrics, distribution, jobsCsv, percentile, perJob, type Distribution, type Metrics,
} from './metrics.js';
export { binTimeline, lineChart, niceTicks, timelinePlots, type Binned, type ChartOptions, type Series } from './svg.js';
export {
  RLS_WINDOWS, RLS_WINDOW_SIZE, rlsWindow, rlsWorkload, runRlscheduler, type RlsJob, type RlsPolicy, type RlsResult, type RlsWorkload,
} from './compat-rlscheduler.js';
