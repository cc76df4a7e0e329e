/**
 * Priority plugins turn a job into an integer priority (higher runs first).
 * The built-in default, like Flux's, is the job's urgency; urgency 0 (held)
 * and 31 (expedite) are handled by the job manager before plugins are asked.
 */
import type { Job } from './job.js';

export interface PriorityPlugin {
  readonly name: string;
  priority(job: Job): number;
}

export const defaultPriority: PriorityPlugin = {
  name: 'priority.default',
  priority: (job) => job.urgency,
};
