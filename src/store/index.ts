/** store: the instance's durable state in SQLite (event logs, job records, output, key-value). */
export { Store, DEFAULT_COMMIT_SPACING_MS, openError, writeError, safeStderr, type StoreOptions, type StoredEvent, type JobRecord, type OutputRecord, type JobFilter } from './store.js';
export { AccountingDb, type AccountRow, type UserRow, type UsageRow, type DecayedRow, type QosRow } from './accounting.js';
export { ArchiveDb, ARCHIVE_CHUNK, pathDepth, type ArchivedJob, type ArchiveFilter, type ArchiveResult } from './archive.js';
