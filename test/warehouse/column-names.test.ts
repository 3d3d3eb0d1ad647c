/**
 * Column names an Airbyte stream lands under (issue "fidelity", items 3 and 4): field names that differ only in case
 * and data fields named like Airbyte's own columns all land, under the same deterministic names in DuckDB and
 * PostgreSQL, each rename recorded in `_airbyte_meta`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { abflow, tempDir } from '../kit/cli.js';
import { query } from '../kit/duckdb.js';
import { dropSchema, PG_URL, pgQuery, uniqueName } from '../kit/postgres.js';

const rec = (stream: string, data: string) => `{"type":"RECORD","record":{"stream":"${stream}","data":${data},"emitted_at":1700000000000}}`;

function write(
  dir: string,
  lines: string[],
  streams: Record<string, Record<string, unknown>>,
  config: Record<string, unknown> = { destination_path: join(dir, 'out.duckdb') },
) {
  const catalog = join(dir, 'catalog.json');
  writeFileSync(
    catalog,
    JSON.stringify({
      streams: Object.entries(streams).map(([name, properties]) => ({
        name,
        json_schema: { type: 'object', properties },
        supported_sync_modes: ['full_refresh'],
      })),
    }),
  );
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return abflow(['airbyte', 'write', '--config', join(dir, 'config.json'), '--catalog', catalog], { input: lines.join('\n') + '\n' });
}

describe('column names (3, 4)', () => {
  const streams = {
    staff: {
      Termination_Date: { type: 'string' },
      Termination_date: { type: 'string' },
      _airbyte_raw_id: { type: 'string' },
      _airbyte_data: { type: 'object' },
      _airbyte_emitted_at: { type: 'string' },
    },
  };
  const lines = [
    rec('staff', '{"Termination_Date":"2024-01-31","Termination_date":"31/01/2024","_airbyte_raw_id":"r1","_airbyte_data":{"a":1},"_airbyte_emitted_at":"x"}'),
  ];
  const expected = {
    Termination_Date: '2024-01-31',
    Termination_date_1: '31/01/2024',
    _airbyte_raw_id_1: 'r1',
    _airbyte_data: '{"a":1}',
    _airbyte_emitted_at: 'x',
  };
  const renames = [
    { field: 'Termination_date', change: 'RENAMED', reason: 'DESTINATION_FIELD_NAME_COLLISION', column: 'Termination_date_1' },
    { field: '_airbyte_raw_id', change: 'RENAMED', reason: 'DESTINATION_FIELD_NAME_COLLISION', column: '_airbyte_raw_id_1' },
  ];

  it('lands names that differ only in case, and data named like Airbyte columns, in DuckDB', async () => {
    const dir = tempDir();
    const r = write(dir, lines, streams);
    expect(r.code, r.stderr).toBe(0);
    const [row] = await query(
      join(dir, 'out.duckdb'),
      `SELECT "Termination_Date", "Termination_date_1", "_airbyte_raw_id_1", "_airbyte_data"::VARCHAR AS "_airbyte_data", "_airbyte_emitted_at", _airbyte_meta::VARCHAR AS meta, length(_airbyte_raw_id) AS idlen FROM staff`,
    );
    expect(row).toMatchObject({ ...expected, idlen: '36' });
    expect(JSON.parse(row!.meta as string).changes).toEqual(renames);
  });

  it('and the same in PostgreSQL', async () => {
    const dir = tempDir();
    const schema = uniqueName('fidelity');
    try {
      const r = write(dir, lines, streams, { warehouse: 'postgres', postgres_url: PG_URL, postgres_schema: schema });
      expect(r.code, r.stderr).toBe(0);
      const [row] = await pgQuery(
        `SELECT "Termination_Date", "Termination_date_1", "_airbyte_raw_id_1", "_airbyte_data"::text AS "_airbyte_data", "_airbyte_emitted_at", _airbyte_meta::text AS meta FROM "${schema}".staff`,
      );
      expect({ ...row, _airbyte_data: JSON.stringify(JSON.parse(row!._airbyte_data as string)) }).toMatchObject(expected);
      expect(JSON.parse(row!.meta as string).changes).toEqual(renames);
    } finally {
      await dropSchema(schema);
    }
  });
});
