import { DuckDBInstance } from '@duckdb/node-api';
const db = await DuckDBInstance.create(':memory:'); const c = await db.connect();
for (const q of [
 'CREATE TABLE t (a INTEGER, b VARCHAR)', "INSERT INTO t VALUES (1,'x'),(NULL,'y')",
 'CREATE TEMP TABLE b AS SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY a ORDER BY b DESC NULLS LAST) AS rn FROM t) q WHERE rn = 1',
 'DELETE FROM b AS x WHERE EXISTS (SELECT 1 FROM t o WHERE o.a IS NOT DISTINCT FROM x.a AND o.b > x.b)',
 'ALTER TABLE t ALTER COLUMN a TYPE VARCHAR', 'ALTER TABLE t ADD COLUMN "new col" JSON',
 'EXPLAIN DELETE FROM t AS o WHERE EXISTS (SELECT 1 FROM b x WHERE o.a IS NOT DISTINCT FROM x.a)',
]) { const r = await c.runAndReadAll(q); if (q.startsWith('EXPLAIN')) console.log(r.getRows().map(r=>r[1]).join('\n')); }
const r = await c.runAndReadAll("SELECT column_name, data_type FROM information_schema.columns WHERE table_name='t' AND table_schema='main' ORDER BY ordinal_position"); console.log(r.getRows());
