/**
 * What the warehouse sinks' commit SQL does, run in DuckDB (in memory): Airbyte's dedup rules — the latest version per
 * key by cursor, then `_airbyte_extracted_at`, then arrival; stale versions and versions older than a deletion lose;
 * null keys match null-safely when asked; a truncate marker removes what came before it — and that a commit moves
 * exactly the staged epochs of its range. The statements are the ones the duckdb and postgres sinks run
 * (sql.test.ts pins their text; this pins their meaning).
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Column,
  type CommitShape,
  commitStatements,
  createTableSql,
  DUCKDB,
  EPOCH_COLUMN,
  evolve,
  POSTGRES,
  SEQ_COLUMN,
  tableRef,
  tombstoneColumns,
} from '../../../../connectors/warehouse/sql.js';
import type { ColumnType } from '../../../../engine/api.js';
import { quoteIdent, quoteLiteral } from '../../../../engine/sql.js';

let db: DuckDBInstance;
let conn: DuckDBConnection;
let tables = 0;

beforeAll(async () => {
  db = await DuckDBInstance.create(':memory:');
  conn = await db.connect();
});
afterAll(() => {
  conn.closeSync();
  db.closeSync();
});

const run = async (sql: string) => void (await conn.run(sql));
const select = async (sql: string) => (await conn.runAndReadAll(sql)).getRowObjectsJson();

type Row = Record<string, string | number | null>;

/** A target, a stage and a tombstone table for `input`, fresh names each time. */
async function setUp(input: CommitShape['input'], dedup?: CommitShape['dedup']): Promise<CommitShape> {
  const n = ++tables;
  const shape: CommitShape = { dialect: DUCKDB, target: `t${n}`, stage: `s${n}`, tombstones: `d${n}`, batch: `b${n}`, input, ...(dedup ? { dedup } : {}) };
  await run(
    createTableSql(
      DUCKDB,
      shape.target,
      input.map((c) => ({ name: c.name, type: c.to })),
    ),
  );
  const staged: Column[] = [...input.map((c) => ({ name: c.name, type: c.from })), { name: EPOCH_COLUMN, type: 'int64' }, { name: SEQ_COLUMN, type: 'int64' }];
  await run(createTableSql(DUCKDB, shape.stage, staged));
  if (dedup) await run(createTableSql(DUCKDB, shape.tombstones, tombstoneColumns(shape)));
  return shape;
}

/** Stages `rows` in `epoch`, in order (their arrival). */
async function stage(shape: CommitShape, epoch: number, rows: Row[]): Promise<void> {
  const names = shape.input.map((c) => c.name);
  for (const [seq, r] of rows.entries()) {
    const values = names.map((k) => (r[k] === null || r[k] === undefined ? 'NULL' : typeof r[k] === 'number' ? String(r[k]) : quoteLiteral(String(r[k]))));
    await run(`INSERT INTO ${shape.stage} (${[...names.map(quoteIdent), EPOCH_COLUMN, SEQ_COLUMN].join(', ')}) VALUES (${[...values, epoch, seq].join(', ')})`);
  }
}

async function commit(shape: CommitShape, after: number, upTo: number, nullSafe = false): Promise<void> {
  for (const s of commitStatements(shape, { after, upTo }, nullSafe)) await run(s);
}

const table = (shape: CommitShape, order = 'ALL') => select(`SELECT * FROM ${shape.target} ORDER BY ${order}`);

const col = (name: string, to: ColumnType, from: ColumnType = to) => ({ name, from, to });

describe('append', () => {
  it('moves exactly the epochs after `after` up to `upTo`, casting to the table type', async () => {
    const s = await setUp([col('id', 'int64', 'int32'), col('v', 'string')]);
    await stage(s, 1, [{ id: 1, v: 'one' }]);
    await stage(s, 2, [{ id: 2, v: 'two' }]);
    await stage(s, 3, [{ id: 3, v: 'three' }]);
    await commit(s, 1, 2);
    expect(await table(s)).toEqual([{ id: '2', v: 'two' }]);
    await commit(s, 2, 3);
    expect(await table(s)).toEqual([
      { id: '2', v: 'two' },
      { id: '3', v: 'three' },
    ]);
    const [{ type }] = (await select(`SELECT typeof(id) AS type FROM ${s.target} LIMIT 1`)) as [{ type: string }];
    expect(type).toBe('BIGINT');
  });
});

describe('append_dedup', () => {
  const input = [col('id', 'int64'), col('u', 'int64'), col('v', 'string')];

  it('keeps the version with the latest cursor per key, a null cursor being the oldest', async () => {
    const s = await setUp(input, { primaryKey: ['id'], cursor: 'u' });
    await stage(s, 1, [
      { id: 1, u: 5, v: 'a5' },
      { id: 1, u: 9, v: 'a9' },
      { id: 1, u: 7, v: 'a7' },
      { id: 2, u: 3, v: 'b3' },
      { id: 2, u: null, v: 'bnull' },
      { id: 3, u: null, v: 'c-first' },
      { id: 3, u: null, v: 'c-second' },
    ]);
    await commit(s, 0, 1);
    expect(await table(s)).toEqual([
      { id: '1', u: '9', v: 'a9' },
      { id: '2', u: '3', v: 'b3' },
      { id: '3', u: null, v: 'c-second' },
    ]);
  });

  it("ignores a version older than the table's, takes a newer or equal one (a replay rewrites itself)", async () => {
    const s = await setUp(input, { primaryKey: ['id'], cursor: 'u' });
    await stage(s, 1, [
      { id: 1, u: 5, v: 'a5' },
      { id: 2, u: 5, v: 'b5' },
      { id: 3, u: 5, v: 'c5' },
      { id: 4, u: null, v: 'dnull' },
    ]);
    await commit(s, 0, 1);
    await stage(s, 2, [
      { id: 1, u: 4, v: 'a4' },
      { id: 2, u: 5, v: 'b5-again' },
      { id: 3, u: 6, v: 'c6' },
      { id: 4, u: 1, v: 'd1' },
    ]);
    await commit(s, 1, 2);
    expect(await table(s)).toEqual([
      { id: '1', u: '5', v: 'a5' },
      { id: '2', u: '5', v: 'b5-again' },
      { id: '3', u: '6', v: 'c6' },
      { id: '4', u: '1', v: 'd1' },
    ]);
    await stage(s, 3, [{ id: 4, u: null, v: 'dnull-again' }]);
    await commit(s, 2, 3);
    expect((await table(s))[3]).toEqual({ id: '4', u: '1', v: 'd1' });
  });

  it('breaks cursor ties by _airbyte_extracted_at, then by arrival', async () => {
    const s = await setUp([...input, col('_airbyte_extracted_at', 'int64')], { primaryKey: ['id'], cursor: 'u', extractedAt: '_airbyte_extracted_at' });
    await stage(s, 1, [
      { id: 1, u: 5, v: 'late-extract', _airbyte_extracted_at: 20 },
      { id: 1, u: 5, v: 'early-extract', _airbyte_extracted_at: 10 },
      { id: 2, u: 5, v: 'first', _airbyte_extracted_at: 10 },
      { id: 2, u: 5, v: 'second', _airbyte_extracted_at: 10 },
    ]);
    await commit(s, 0, 1);
    expect((await table(s)).map((r) => r.v)).toEqual(['late-extract', 'second']);
    await stage(s, 2, [
      { id: 1, u: 5, v: 'older-extract', _airbyte_extracted_at: 15 },
      { id: 2, u: 5, v: 'newer-extract', _airbyte_extracted_at: 11 },
    ]);
    await commit(s, 1, 2);
    expect((await table(s)).map((r) => r.v)).toEqual(['late-extract', 'newer-extract']);
  });

  it('without a cursor, the last arrival wins, across epochs too', async () => {
    const s = await setUp([col('id', 'int64'), col('v', 'string')], { primaryKey: ['id'] });
    await stage(s, 1, [
      { id: 1, v: 'x' },
      { id: 1, v: 'y' },
    ]);
    await stage(s, 2, [{ id: 1, v: 'z' }]);
    await commit(s, 0, 2);
    expect(await table(s)).toEqual([{ id: '1', v: 'z' }]);
    await stage(s, 3, [{ id: 1, v: 'w' }]);
    await commit(s, 2, 3);
    expect(await table(s)).toEqual([{ id: '1', v: 'w' }]);
  });

  it('a deletion removes the row and is remembered: an older change arriving later loses, a newer one comes back', async () => {
    const s = await setUp([...input, col('_ab_cdc_deleted_at', 'int64')], { primaryKey: ['id'], cursor: 'u', deletedAt: '_ab_cdc_deleted_at' });
    await stage(s, 1, [
      { id: 1, u: 1, v: 'a1' },
      { id: 2, u: 1, v: 'b1' },
    ]);
    await commit(s, 0, 1);
    await stage(s, 2, [{ id: 1, u: 2, v: null, _ab_cdc_deleted_at: 100 }]);
    await commit(s, 1, 2);
    expect((await table(s)).map((r) => r.id)).toEqual(['2']);
    expect(await select(`SELECT * FROM ${s.tombstones}`)).toEqual([{ id: '1', u: '2' }]);
    await stage(s, 3, [{ id: 1, u: 1, v: 'a1-replayed' }]);
    await commit(s, 2, 3);
    expect((await table(s)).map((r) => r.id)).toEqual(['2']);
    await stage(s, 4, [{ id: 1, u: 3, v: 'a3' }]);
    await commit(s, 3, 4);
    expect((await table(s)).map((r) => r.v)).toEqual(['a3', 'b1']);
    expect(await select(`SELECT * FROM ${s.tombstones}`)).toEqual([]);
  });

  it('matches null keys with each other only when asked to (a staged key holds a null)', async () => {
    const s = await setUp(input, { primaryKey: ['id'], cursor: 'u' });
    await stage(s, 1, [{ id: null, u: 1, v: 'n1' }]);
    await commit(s, 0, 1, true);
    await stage(s, 2, [{ id: null, u: 2, v: 'n2' }]);
    await commit(s, 1, 2, true);
    expect(await table(s)).toEqual([{ id: null, u: '2', v: 'n2' }]);
    await stage(s, 3, [{ id: null, u: 0, v: 'n0' }]);
    await commit(s, 2, 3, true);
    expect(await table(s)).toEqual([{ id: null, u: '2', v: 'n2' }]);
  });

  it('dedups on a composite key', async () => {
    const s = await setUp([col('a', 'int64'), col('b', 'string'), col('u', 'int64')], { primaryKey: ['a', 'b'], cursor: 'u' });
    await stage(s, 1, [
      { a: 1, b: 'x', u: 1 },
      { a: 1, b: 'y', u: 1 },
      { a: 1, b: 'x', u: 2 },
    ]);
    await commit(s, 0, 1);
    expect(await table(s)).toEqual([
      { a: '1', b: 'x', u: '2' },
      { a: '1', b: 'y', u: '1' },
    ]);
  });

  it('a truncate marker removes every row of an older log position, and rows without one', async () => {
    const s = await setUp([col('id', 'int64'), col('v', 'string'), col('_ab_cdc_lsn', 'int64'), col('_ab_cdc_truncated_at', 'int64')], {
      primaryKey: ['id'],
      truncatedAt: '_ab_cdc_truncated_at',
    });
    await stage(s, 1, [
      { id: 1, v: 'a', _ab_cdc_lsn: 10 },
      { id: 2, v: 'b', _ab_cdc_lsn: 20 },
      { id: 3, v: 'c', _ab_cdc_lsn: null },
    ]);
    await commit(s, 0, 1);
    await stage(s, 2, [
      { id: 4, v: 'd', _ab_cdc_lsn: 30 },
      { id: null, v: null, _ab_cdc_lsn: 25, _ab_cdc_truncated_at: 1 },
      { id: 5, v: 'e', _ab_cdc_lsn: 24 },
    ]);
    await commit(s, 1, 2);
    expect((await table(s, 'id')).map((r) => r.v)).toEqual(['d']);
    await stage(s, 3, [{ id: 6, v: 'f', _ab_cdc_lsn: 40 }]);
    await commit(s, 2, 3);
    expect((await table(s, 'id')).map((r) => r.v)).toEqual(['d', 'f']);
  });
});

describe('tables', () => {
  it('names any identifier, quoted, with its catalog and schema', async () => {
    expect(quoteIdent('a"b')).toBe('"a""b"');
    expect(quoteLiteral("it's")).toBe("'it''s'");
    expect(tableRef({ catalog: 'c', schema: 's', table: 't' })).toBe('"c"."s"."t"');
    expect(tableRef({ schema: 's', table: 't' })).toBe('"s"."t"');
    const name = quoteIdent('odd "table" name');
    await run(createTableSql(DUCKDB, name, [{ name: 'select', type: 'int64' }]));
    await run(createTableSql(DUCKDB, name, [{ name: 'select', type: 'int64' }]));
    await expect(run(createTableSql(DUCKDB, name, [{ name: 'select', type: 'int64' }], false))).rejects.toThrow(/already exists/);
    expect(createTableSql(POSTGRES, 'x', [{ name: 'a', type: 'json' }], true, 'UNLOGGED')).toBe('CREATE UNLOGGED TABLE IF NOT EXISTS x ("a" jsonb)');
  });

  it("reads back every abflow type from DuckDB's catalog, and evolves a table by the statements it gives", async () => {
    const types = Object.keys(DUCKDB.types) as ColumnType[];
    await run(
      createTableSql(
        DUCKDB,
        'every_type',
        types.map((t) => ({ name: `c_${t}`, type: t })),
      ),
    );
    const catalog = (await select(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'every_type' ORDER BY ordinal_position`,
    )) as {
      column_name: string;
      data_type: string;
    }[];
    expect(catalog.map((c) => DUCKDB.columnType(c.data_type))).toEqual(types);
    for (const [dataType, t] of [
      ['character varying', 'string'],
      ['timestamp without time zone', 'timestamp'],
      ['INT4', 'int32'],
      ['int8', 'int64'],
      ['real', 'float64'],
      ['jsonb', 'json'],
      ['geometry', undefined],
    ] as const)
      expect(POSTGRES.columnType(dataType), dataType).toBe(t);

    await run(createTableSql(DUCKDB, 'evolving', [{ name: 'n', type: 'int32' }]));
    await run(`INSERT INTO evolving VALUES (7)`);
    const ev = evolve([{ name: 'n', type: 'int32' }], [{ name: 'n', type: 'float64' }]);
    for (const w of ev.widen) await run(DUCKDB.alterType('evolving', w.name, w.type));
    expect(await select(`SELECT typeof(n) AS t, n FROM evolving`)).toEqual([{ t: 'DOUBLE', n: 7 }]);
    expect(POSTGRES.alterType('"t"', 'n', 'float64')).toBe('ALTER TABLE "t" ALTER COLUMN "n" TYPE double precision USING "n"::double precision');
  });
});
