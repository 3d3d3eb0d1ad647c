import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DuckDBInstance } from '@duckdb/node-api';
import { lazyRequire } from '../../engine/api.js';

export const duckdbApi = lazyRequire<typeof import('@duckdb/node-api')>(import.meta.url, '@duckdb/node-api');

/** One instance per database file in a process: a second `DuckDBInstance.fromCache` of a file whose crash WAL had
 * just been replayed was seen to hang (about one open in four), so every user of a file (sinks, the LLM response
 * cache) shares the first. Creates the file's folder. */
const instances = new Map<string, Promise<DuckDBInstance>>();

export function duckdbInstance(path: string): Promise<DuckDBInstance> {
  let db = instances.get(path);
  if (!db) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    instances.set(path, (db = duckdbApi().DuckDBInstance.fromCache(path)));
  }
  return db;
}
