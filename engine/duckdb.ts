/**
 * @module duckdb
 * The one way into DuckDB for the whole code base: the checkpoint store, the `duckdb` sink, approval queues, the LLM
 * answer cache, `model fit` and the Airbyte destination's check all open databases here. It lives in engine/ (not
 * connectors/duckdb/) because the checkpoint store, engine core, uses it and the core imports no component.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { lazyRequire } from './lazy.js';

export const duckdbApi = lazyRequire<typeof import('@duckdb/node-api')>(import.meta.url, '@duckdb/node-api');

/** The write-ahead log size past which DuckDB folds it into the database file (its default is 16 MB). A sink commits
 * at every checkpoint or Airbyte STATE, and with 16 MB DuckDB re-wrote the table's open row group a dozen times per
 * million rows: 256 MB took 10-15 % off Airbyte → DuckDB (scratch runs of native-bench a, 1 M records: 11.9 →
 * 10.4 CPU s). Committed rows are durable in the log either way; sinks fold it in when they close (`CHECKPOINT`). */
const CHECKPOINT_THRESHOLD = '256MB';

/** One instance per database file in a process: a second `DuckDBInstance.fromCache` of a file whose crash WAL had
 * just been replayed was seen to hang (about one open in four), so every user of a file (sinks, approval queues,
 * the LLM response cache) shares the first — and the file stays locked for other processes while it is open. So
 * users hold connections, counted: when the last one closes, the instance closes and releases the file (`serve`
 * kept a finished job's database locked until it exited). */
const instances = new Map<string, { readonly db: Promise<DuckDBInstance>; users: number }>();

/** A connection to the process's instance of `path` (created with its folder on first use); `closeSync()` on it
 * releases it, and the last release closes the instance. */
export async function duckdbConnect(path: string): Promise<DuckDBConnection> {
  let shared = instances.get(path);
  if (!shared) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    instances.set(path, (shared = { db: duckdbApi().DuckDBInstance.fromCache(path, { checkpoint_threshold: CHECKPOINT_THRESHOLD }), users: 0 }));
  }
  shared.users++;
  let conn: DuckDBConnection;
  try {
    conn = await (await shared.db).connect();
  } catch (e) {
    release(path, shared);
    throw e;
  }
  const close = conn.closeSync.bind(conn);
  let closed = false;
  conn.closeSync = () => {
    close();
    if (closed) return;
    closed = true;
    release(path, shared);
  };
  return conn;
}

function release(path: string, shared: { readonly db: Promise<DuckDBInstance>; users: number }): void {
  if (--shared.users > 0 || instances.get(path) !== shared) return;
  instances.delete(path);
  void shared.db.then(
    (db) => db.closeSync(),
    () => undefined,
  );
}

/** A connection to an instance of its own (closed with the connection): for in-memory work, and to probe that a file
 * opens — is not locked by another process — without sharing this process's instance of it. */
export async function duckdbPrivate(path = ':memory:'): Promise<DuckDBConnection> {
  const db = await duckdbApi().DuckDBInstance.create(path);
  const conn = await db.connect();
  const close = conn.closeSync.bind(conn);
  conn.closeSync = () => {
    close();
    db.closeSync();
  };
  return conn;
}
