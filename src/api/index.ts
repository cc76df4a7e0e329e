/** api: the public TypeScript client of a Fractal instance. */
export { connect, isJobPath, resolveJobPath, Fractal, resolveUri, currentInstanceFile, STARTING_TIMEOUT_MS, type ConnectOptions, type SubmitOptions, type OutputChunk } from './client.js';
export type { JobInfo, JobEvent, ListRequest, WaitResponse } from '../protocol/index.js';
export { locateJob, jobInfoAt, eventlogAt, listRecursive, archiveInfo, archiveEventlog, archiveList, type JobLocation, type PathJobInfo, type JobInfoResponse, type RecursiveListRequest, type ArchiveListRequest } from './history.js';
