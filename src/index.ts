export { openStore, Store, type StoreOptions } from './store/store.js';
export { DEFAULT_CONCURRENCY, DEFAULT_INLINE_MAX } from './defaults.js';
export {
  BatchWriter,
  type BatchWriterOptions,
  type ItemOutcome,
  type ItemResult,
  type WriteItem,
  type WriterStats,
} from './pipeline/batch-writer.js';
export type { ConflictMode } from './store/index-db.js';
export { BwriteError, classifyError, type ErrorClass, type ErrorCode, type RecordErrorCode } from './errors.js';
export { verifyStore, type VerifyReport, type VerifyProblem } from './store/verify.js';
export { collectGarbage, type GcReport } from './store/gc.js';
export { storeStats, type StoreStats } from './store/store-stats.js';
export { copyStore, type CopyOptions, type CopyReport, type CopyCounters, type CopyProblem, type CopyProblemKind } from './pipeline/copy-run.js';
