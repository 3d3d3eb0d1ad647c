/**
 * The COPY text encoding the PostgreSQL sink streams rows in.
 */
import { describe, expect, it } from 'vitest';
import { batchFromRows } from '../../../../engine/arrow/columns.js';
import { schemaOf } from '../../../../engine/types.js';
import { encodeCopyText, pgDate, pgTimestamp } from '../../../../connectors/postgres/copy-text.js';

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
