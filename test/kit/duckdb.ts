/** Reads DuckDB files in tests (a separate instance, as a user's client would). */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

async function withConnection<T>(path: string, readOnly: boolean, f: (c: DuckDBConnection) => Promise<T>): Promise<T> {
  const db = await DuckDBInstance.create(path, readOnly && path !== ':memory:' ? { access_mode: 'READ_ONLY' } : {});
  const conn = await db.connect();
  try {
    return await f(conn);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

export function query(path: string, sql: string): Promise<Record<string, unknown>[]> {
  return withConnection(path, true, async (c) => (await c.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[]);
}

/** Rows as arrays of DuckDB values (doubles stay exact). Opens read-write: a file a killed process left behind
 * has a WAL to replay. */
export function rows(path: string, sql: string): Promise<unknown[][]> {
  return withConnection(path, false, async (c) => (await c.runAndReadAll(sql)).getRows());
}
