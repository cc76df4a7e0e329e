/**
 * The resource graph: a struct-of-arrays graph of resources of any type
 * (GraphStore), its readers (GRUG, JGF, R, YAML config, slurm.conf, local
 * discovery, synthetic), the matcher and its planners (ResourceGraph),
 * constraints (RFC 31/35), writers (R, JGF, Fluxion's text) and the
 * resource-query interpreter. Pure: callers read files and clocks.
 */
export { GraphStore, STATUS_UP, STATUS_DOWN, STATUS_DRAINED } from './store.js';
export type { VertexSpec, VertexStatus, AuxSubsystem } from './store.js';
export { ResourceGraph, FOREVER, MATCH_MODES } from './graph.js';
export type {
  Allocation,
  CompiledJob,
  GraphOptions,
  JobInfo,
  MatchMode,
  MatchOptions,
  MatchOutcome,
  MatchResult,
  SubgraphSpec,
  TypeStat,
} from './graph.js';
export { MATCH_POLICIES } from './matcher.js';
export type { MatchPolicy } from './matcher.js';
export { compileConstraint, parseConstraintQuery } from './constraint.js';
export type { CompiledConstraint, ConstraintTarget } from './constraint.js';
export { syntheticGraph } from './load-synthetic.js';
export type { SyntheticSpec } from './load-synthetic.js';
export { loadGrug } from './load-grug.js';
export { loadJgf, loadRv1 } from './load-jgf.js';
export { loadConfig, loadConfigText } from './load-config.js';
export { loadSlurmConf } from './load-slurm.js';
export { discoverLocal } from './discover.js';
export type { DiscoverIo, DiscoverOptions } from './discover.js';
export { loadGraphText, detectGraphFormat, GRAPH_FORMATS } from './load.js';
export type { GraphFormat } from './load.js';
export { graphToJgf, allocationJgf, rv1WithGraph, writeSimple } from './writers.js';
export type { Jgf, JgfEdge, JgfNode } from './writers.js';
export { ResourceQuery, parseQueryPolicy, QUERY_FORMATS } from './query.js';
export type { CommandOutput, QueryFormat, QueryOptions, QueryPolicy } from './query.js';
