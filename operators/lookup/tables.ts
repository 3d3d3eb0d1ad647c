/**
 * Where `lookup_join` looks rows up: a DuckDB file (connections to this process's instance of the file, so a DuckDB
 * sink of the same job sees the same data) or PostgreSQL (a pool). Both answer one lookup statement (lookup-sql.ts)
 * for a set of keys: the key positions and one text array per parameter go in, (position, row as JSON text) pairs
 * come out.
 */
import type pg from 'pg';
import { duckdbApi, duckdbConnect, isTransientPgError, pgClientConfig, type PgConnectionConfig, pgLib } from '../../engine/api.js';

export interface LookupTable {
  /** Runs `sql` with `$1` = positions, `$2…` = the parameter arrays (text; null for a null key part). */
  query(sql: string, positions: number[], params: (string | null)[][]): Promise<{ i: number; r: string }[]>;
  /** Failures worth retrying (a lost connection, a restarting server); others are the plan's or the data's. */
  transient(e: unknown): boolean;
  close(): Promise<void>;
}

/** `connections` connections, one per query in flight (a DuckDB connection runs one query at a time). */
export async function openDuckdbTable(path: string, connections: number): Promise<LookupTable> {
  const free = await Promise.all(Array.from({ length: connections }, () => duckdbConnect(path)));
  const all = [...free];
  const api = duckdbApi();
  return {
    async query(sql, positions, params) {
      const conn = free.pop()!;
      try {
        const values = [api.listValue(positions), ...params.map((p) => api.listValue(p))];
        const types = [api.LIST(api.INTEGER), ...params.map(() => api.LIST(api.VARCHAR))];
        const rows = (await conn.runAndReadAll(sql, values, types)).getRows();
        return rows.map(([i, r]) => ({ i: Number(i), r: String(r) }));
      } finally {
        free.push(conn);
      }
    },
    // An embedded database does not lose its connection: its errors are the query's.
    transient: () => false,
    async close() {
      for (const c of all) c.closeSync();
    },
  };
}

export function openPostgresTable(cfg: PgConnectionConfig, nodeId: string, connections: number): LookupTable {
  const pool: pg.Pool = new (pgLib().Pool)({ ...pgClientConfig(cfg, `abflow ${nodeId}`), max: connections });
  // An idle connection the server dropped must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return {
    async query(sql, positions, params) {
      const res = await pool.query<{ i: number; r: string }>(sql, [positions, ...params]);
      return res.rows;
    },
    transient: isTransientPgError,
    async close() {
      await pool.end();
    },
  };
}
