/**
 * The resource area: pure data types for concrete resources, with no I/O.
 * It owns idsets (RFC 22: sets of ranks, cores, GPUs), hostlists (RFC 29:
 * ordered, compressed hostname lists) and the resource set R version 1
 * (RFC 20) with its set algebra. Schedulers, the job manager and the
 * execution system import R from here; nothing here imports them.
 *
 * The resource graph and its matcher are a sub-area with their own surface,
 * `./graph/index.ts`, imported only by what matches against a graph: keeping
 * them out of this index keeps broker and CLI start-up short.
 */
export { IdSet, MAX_ID } from './idset.js';
export { Hostlist, MAX_HOSTS } from './hostlist.js';
export { Rv1 } from './rv1.js';
export type { RankResources, RJson, Rv1Options } from './rv1.js';
