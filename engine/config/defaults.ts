/**
 * @module config/defaults
 * Every engine default in one place.
 */
export const DEFAULTS = {
  /** Rows per batch produced by sources. */
  batchSize: 8192,
  /** Longest a source holds a partial batch before emitting it. */
  lingerMs: 50,
  /** Elements (batches or control messages) buffered per edge before the producer waits. */
  queueCapacity: 8,
  /** Batches in flight in the worker pool per chain, per worker thread. */
  inFlightPerWorker: 2,
  /** Where dead letters with no sink in the plan are written; `{name}` is the plan name. */
  deadLetterPath: 'out/{name}.dead_letter.jsonl',
  /** Where a job's checkpoints are kept; `{name}` is the plan name. */
  checkpointPath: 'out/{name}.checkpoints.duckdb',
  /** Rows per DuckDB appender flush. */
  duckdbFlushRows: 100_000,
} as const;
