/** The machine's PostgreSQL in tests: each test gets its own schema and drops it. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_URL = process.env.ABFLOW_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export async function pgQuery<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}

/** A fresh schema name, unique per call (tests run in parallel and the server persists between runs). */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export async function dropSchema(schema: string): Promise<void> {
  await pgQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}
