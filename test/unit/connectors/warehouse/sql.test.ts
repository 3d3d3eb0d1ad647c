/**
 * The warehouse sinks' SQL: type widening, table evolution and the statements that commit an epoch.
 */
import { describe, expect, it } from 'vitest';
import { commitStatements, DUCKDB, evolve, POSTGRES, widen } from '../../../../connectors/warehouse/sql.js';

describe('widen', () => {
  it.each([
    ['int32', 'int64', 'int64'],
    ['int64', 'float64', 'float64'],
    ['int32', 'float64', 'float64'],
    ['date', 'timestamp', 'timestamp'],
    ['bool', 'int32', 'string'],
    ['json', 'string', 'string'],
    ['timestamp', 'string', 'string'],
    ['float64', 'float64', 'float64'],
  ] as const)('%s + %s → %s', (a, b, out) => {
    expect(widen(a, b)).toBe(out);
    expect(widen(b, a)).toBe(out);
  });
});

describe('evolve', () => {
  it('adds new columns, widens existing ones, keeps columns the input lacks, leaves unknown types alone', () => {
    const ev = evolve(
      [
        { name: 'id', type: 'int32' },
        { name: 'old', type: 'string' },
        { name: 'geo', type: undefined },
      ],
      [
        { name: 'id', type: 'int64' },
        { name: 'geo', type: 'string' },
        { name: 'new', type: 'json' },
      ],
    );
    expect(ev.add).toEqual([{ name: 'new', type: 'json' }]);
    expect(ev.widen).toEqual([{ name: 'id', type: 'int64' }]);
    expect(ev.columns.map((c) => c.name)).toEqual(['id', 'old', 'geo', 'new']);
  });
  it('never narrows', () => {
    expect(evolve([{ name: 'x', type: 'float64' }], [{ name: 'x', type: 'int32' }]).widen).toEqual([]);
  });
});

describe('commitStatements', () => {
  const shape = (dialect = DUCKDB) => ({
    dialect,
    target: '"t"',
    stage: '"s"',
    tombstones: '"d"',
    batch: 'b',
    input: [
      { name: 'id', from: 'int32' as const, to: 'int64' as const },
      { name: 'u', from: 'timestamp' as const, to: 'timestamp' as const },
      { name: '_ab_cdc_deleted_at', from: 'timestamp' as const, to: 'timestamp' as const },
    ],
    dedup: { primaryKey: ['id'], cursor: 'u', deletedAt: '_ab_cdc_deleted_at' },
  });
  it("append inserts the epoch's staged rows, casting to the table type", () => {
    const [s] = commitStatements({ ...shape(), dedup: undefined } as never, { after: 1, upTo: 3 }, false);
    expect(s).toBe(
      'INSERT INTO "t" ("id", "u", "_ab_cdc_deleted_at") SELECT CAST("id" AS BIGINT) AS "id", "u", "_ab_cdc_deleted_at" FROM "s" WHERE _abflow_epoch > 1 AND _abflow_epoch <= 3',
    );
  });
  it('dedup keeps the latest per key, checks the table and tombstones, and matches keys null-safely only when asked', () => {
    const safe = commitStatements(shape(), { after: -1, upTo: 2 }, true).join('\n');
    expect(safe).toContain('PARTITION BY "id" ORDER BY "u" DESC NULLS LAST, _abflow_epoch DESC, _abflow_seq DESC');
    expect(safe).toContain('o."id" IS NOT DISTINCT FROM b."id"');
    expect(safe).toContain('FROM "d" o WHERE');
    expect(safe).toContain('INSERT INTO "d" ("id", "u") SELECT "id", "u" FROM b WHERE "_ab_cdc_deleted_at" IS NOT NULL');
    const fast = commitStatements(shape(POSTGRES), { after: -1, upTo: 2 }, false).join('\n');
    expect(fast).toContain('o."id" = b."id"');
    expect(fast).not.toContain('IS NOT DISTINCT FROM b."id"');
  });
});
