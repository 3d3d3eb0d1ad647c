/**
 * `postgres_cdc` conversions: PostgreSQL types to columns, text output to values, LSNs.
 */
import { describe, expect, it } from 'vitest';
import { fromPgText, lsnText, lsnToBigInt, pgColumnType } from '../../../../connectors/postgres/cdc-source.js';

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
