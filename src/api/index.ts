/** api: the public TypeScript client of a Fractal instance. */
export { connect, Fractal, resolveUri, currentInstanceFile, type SubmitOptions, type OutputChunk } from './client.js';
export type { JobInfo, JobEvent, ListRequest, WaitResponse } from '../protocol/index.js';
