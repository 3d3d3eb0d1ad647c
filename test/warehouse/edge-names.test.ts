/**
 * Airbyte's edge-case stream and field names (reserved words, camel and upper case, `stream-with:spécial:character`)
 * create valid tables in DuckDB and PostgreSQL through `abflow airbyte write`, in every sync mode, with every field
 * and Airbyte's meta columns, and the records land.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { abflow, HAS_SHARED, SHARED, tempDir } from '../kit/cli.js';
import { query } from '../kit/duckdb.js';
import { dropSchema, PG_URL, pgQuery, uniqueName } from '../kit/postgres.js';

const STD = join(SHARED, 'fixtures/airbyte/airbytehq-airbyte/airbyte-integrations/bases/standard-destination-test/src/main/resources');
const catalog = (HAS_SHARED ? JSON.parse(readFileSync(join(STD, 'edge_case_catalog.json'), 'utf8')) : { streams: [] }) as {
  streams: { name: string; json_schema: { properties?: Record<string, unknown> } }[];
};
const messages = HAS_SHARED ? readFileSync(join(STD, 'edge_case_messages.txt'), 'utf8') : '';

/** Records per stream in the fixture. */
const expectedCounts = new Map<string, number>();
for (const line of messages.split('\n')) {
  if (!line.trim()) continue;
  const m = JSON.parse(line) as { type: string; record?: { stream: string } };
  if (m.type === 'RECORD') expectedCounts.set(m.record!.stream, (expectedCounts.get(m.record!.stream) ?? 0) + 1);
}

const schemas: string[] = [];
afterAll(async () => {
  for (const s of schemas) await dropSchema(s);
});

describe.skipIf(!HAS_SHARED).each(['duckdb', 'postgres'] as const)('edge-case names into %s', (wh) => {
  it.each(['append', 'overwrite', 'append_dedup'] as const)('mode %s', async (mode) => {
    const dir = tempDir();
    const schema = uniqueName('abflow_edge');
    if (wh === 'postgres') schemas.push(schema);
    const configured = {
      streams: catalog.streams.map((s) => {
        const first = Object.keys(s.json_schema.properties ?? {})[0];
        return {
          stream: s,
          sync_mode: 'full_refresh',
          destination_sync_mode: mode,
          // Dedup keys on the stream's first field (any name must work as a key, too).
          ...(mode === 'append_dedup' ? { primary_key: [[first ?? '_airbyte_raw_id']] } : {}),
        };
      }),
    };
    writeFileSync(join(dir, 'catalog.json'), JSON.stringify(configured));
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify(
        wh === 'duckdb' ? { destination_path: join(dir, 'out.duckdb') } : { warehouse: 'postgres', postgres_url: PG_URL, postgres_schema: schema },
      ),
    );
    const r = abflow(['airbyte', 'write', '--config', 'config.json', '--catalog', 'catalog.json'], { cwd: dir, input: messages });
    expect(r.code, r.stderr).toBe(0);

    for (const s of catalog.streams) {
      const columns =
        wh === 'duckdb'
          ? await query(
              join(dir, 'out.duckdb'),
              `SELECT column_name FROM information_schema.columns WHERE table_name = '${s.name.replace(/'/g, "''")}' AND table_schema = 'main' ORDER BY ordinal_position`,
            )
          : await pgQuery('SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position', [
              schema,
              s.name,
            ]);
      const names = columns.map((c) => c.column_name);
      expect(names, s.name).toEqual(
        expect.arrayContaining([...Object.keys(s.json_schema.properties ?? {}), '_airbyte_raw_id', '_airbyte_extracted_at', '_airbyte_meta']),
      );
      const table = `"${s.name.replace(/"/g, '""')}"`;
      const rows =
        wh === 'duckdb'
          ? await query(join(dir, 'out.duckdb'), `SELECT count(*)::INT AS n FROM ${table}`)
          : await pgQuery(`SELECT count(*)::int AS n FROM "${schema}".${table}`);
      // Dedup keeps one row per key; the edge-case streams have distinct first fields except where noted by Airbyte.
      const n = Number(rows[0]!.n);
      if (mode === 'append_dedup') expect(n, s.name).toBeLessThanOrEqual(expectedCounts.get(s.name) ?? 0);
      else expect(n, s.name).toBe(expectedCounts.get(s.name) ?? 0);
    }
  });
});
