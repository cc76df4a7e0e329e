/**
 * jobspec: the job request format. Owns the jobspec data model (canonical
 * RFC 14 and V1 RFC 25), validation with field-path errors, Flux Standard
 * Durations (RFC 23) and the longest time limit, environment names, output
 * path templates, building V1 jobspec from a command line shape, and the
 * summary a scheduler and executor work from. Pure, except `files.ts`, which
 * reads files for the batch checker.
 */
export type {
  CountOperator,
  CountRange,
  Dependency,
  Jobspec,
  JobAttributes,
  PerResourceCount,
  ResourceCount,
  ResourceVertex,
  SystemAttributes,
  Task,
  TaskAttributes,
  TaskCount,
} from './types.js';
export { parseDuration, formatDuration, durationLimitProblem, MAX_DURATION } from './duration.js';
export { isValidEnvName, envNameProblem } from './environment.js';
export { expandOutputPath, safePathPiece, type OutputPathFields } from './output-path.js';
export { countMin } from './count.js';
export { validateJobspec, validateJobspecAnyVersion, type JobspecVersion, type ValidateOptions } from './validate.js';
export { jobspecFromCommand, type JobShape } from './build.js';
export { summarizeJobspec, type JobRequest } from './summary.js';
export { parseJobspecText, validateFiles, type FileCheck, type ValidateFilesOptions } from './files.js';
