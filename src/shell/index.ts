/**
 * shell: the executor process that hosts job shells on a node (outliving
 * broker restarts) and the message types the broker uses to drive it.
 */
export * from './types.js';
export { Executor } from './executor.js';
export { livePgids, killJobProcesses } from './pgids.js';
