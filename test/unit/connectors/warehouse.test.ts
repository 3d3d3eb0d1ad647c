/**
 * The pure parts of the warehouse connectors: type widening and table evolution, the COPY text encoding, and the
 * PostgreSQL CDC value and LSN conversions.
 */
import { describe, expect, it } from 'vitest';
import { batchFromRows } from '../../../engine/arrow/columns.js';
import { schemaOf } from '../../../engine/types.js';
import { fromPgText, lsnText, lsnToBigInt, pgColumnType } from '../../../connectors/postgres/cdc-source.js';
import { encodeCopyText, pgDate, pgTimestamp } from '../../../connectors/postgres/copy-text.js';
import { commitStatements, DUCKDB, evolve, POSTGRES, widen } from '../../../connectors/warehouse/sql.js';

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

describe('COPY text', () => {
  it('escapes, writes NULLs, booleans, timestamps and dates, and appends epoch and sequence', () => {
    const schema = schemaOf({ s: 'string', b: 'bool', t: 'timestamp', d: 'date', n: 'int64', j: 'json' });
    const batch = batchFromRows(schema, [
      { s: 'a\tb\nc\\d\re', b: true, t: Date.UTC(2024, 0, 2, 3, 4, 5, 6), d: 19000, n: 9007199254740993n, j: '{"a":[1]}' },
      { s: 'nul\u0000here', b: false, t: null, d: null, n: null, j: null },
    ]);
    const stats = { replacedNul: 0 };
    expect(encodeCopyText(batch, 7, 100, stats)).toBe(
      'a\\tb\\nc\\\\d\\re\tt\t2024-01-02T03:04:05.006Z\t2022-01-08\t9007199254740993\t{"a":[1]}\t7\t100\n' + 'nul\uFFFDhere\tf\t\\N\t\\N\t\\N\t\\N\t7\t101\n',
    );
    expect(stats.replacedNul).toBe(1);
  });
  it('writes years outside 1–9999 the way PostgreSQL reads them', () => {
    expect(pgTimestamp(Date.UTC(12345, 0, 1))).toBe('12345-01-01T00:00:00.000Z');
    expect(pgTimestamp(Date.UTC(-500, 5, 1))).toBe('0501-06-01T00:00:00.000Z BC');
    expect(pgDate(Math.round(Date.UTC(-1, 0, 1) / 86_400_000))).toBe('0002-01-01 BC');
  });
});

describe('postgres_cdc conversions', () => {
  it('maps PostgreSQL types, keeping numeric exact unless its precision fits a double', () => {
    expect(pgColumnType('int8', -1)).toBe('int64');
    expect(pgColumnType('numeric', ((12 << 16) | 2) + 4)).toBe('float64');
    expect(pgColumnType('numeric', ((30 << 16) | 2) + 4)).toBe('string');
    expect(pgColumnType('numeric', -1)).toBe('string');
    expect(pgColumnType('jsonb', -1)).toBe('json');
    expect(pgColumnType('_int4', -1)).toBe('string');
  });
  it('reads PostgreSQL text output (ISO, UTC), timestamps to the microsecond', () => {
    expect(fromPgText('timestamp', '2024-01-02 03:04:05.123456+00')).toBe(BigInt(Date.UTC(2024, 0, 2, 3, 4, 5, 123)) * 1000n + 456n);
    expect(fromPgText('timestamp', '2024-01-02 03:04:05')).toBe(BigInt(Date.UTC(2024, 0, 2, 3, 4, 5)) * 1000n);
    expect(fromPgText('timestamp', '0001-01-01 00:00:00+00')).toBe(-62135596800000000n);
    expect(fromPgText('timestamp', '0044-03-15 12:00:00+00 BC')).toBeNull();
    expect(fromPgText('timestamp', 'infinity')).toBeNull();
    expect(fromPgText('date', '2024-03-01')).toBe(Date.UTC(2024, 2, 1) / 86_400_000);
    expect(fromPgText('int64', '9007199254740993')).toBe(9007199254740993n);
    expect(fromPgText('bool', 'f')).toBe(false);
    expect(fromPgText('string', null)).toBeNull();
  });
  it('converts LSNs both ways', () => {
    expect(lsnToBigInt('16/B374D848')).toBe((0x16n << 32n) | 0xb374d848n);
    expect(lsnText(lsnToBigInt('00000000/05BE0028'))).toBe('0/5BE0028');
  });
});
