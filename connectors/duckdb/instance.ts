import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DuckDBInstance } from '@duckdb/node-api';
import { lazyRequire } from '../../engine/api.js';

export const duckdbApi = lazyRequire<typeof import('@duckdb/node-api')>(import.meta.url, '@duckdb/node-api');

/** The write-ahead log size past which DuckDB folds it into the database file (its default is 16 MB). A sink commits
 * at every checkpoint or Airbyte STATE, and with 16 MB DuckDB re-wrote the table's open row group a dozen times per
 * million rows: 256 MB took 10-15 % off Airbyte → DuckDB (scratch runs of native-bench a, 1 M records: 11.9 →
 * 10.4 CPU s). Committed rows are durable in the log either way; sinks fold it in when they close (`CHECKPOINT`). */
const CHECKPOINT_THRESHOLD = '256MB';

/** One instance per database file in a process: a second `DuckDBInstance.fromCache` of a file whose crash WAL had
 * just been replayed was seen to hang (about one open in four), so every user of a file (sinks, the LLM response
 * cache) shares the first. Creates the file's folder. */
const instances = new Map<string, Promise<DuckDBInstance>>();

export function duckdbInstance(path: string): Promise<DuckDBInstance> {
  let db = instances.get(path);
  if (!db) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    instances.set(path, (db = duckdbApi().DuckDBInstance.fromCache(path, { checkpoint_threshold: CHECKPOINT_THRESHOLD })));
  }
  return db;
}
