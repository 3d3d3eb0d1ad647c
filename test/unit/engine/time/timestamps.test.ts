/** ISO 8601 parsing: every year JavaScript dates hold, no date invented, zones and fractions. */
import { describe, expect, it } from 'vitest';
import { ColumnBuilder, cellValue, numbersOf } from '../../../../engine/arrow/columns.js';
import { canonicalUtc, daysFromCivil, isoOfMicros, microsToMs, parseTimestamp, parseTimestampMicros } from '../../../../engine/time/timestamps.js';

const canonical = (s: string) => canonicalUtc((i) => s.charCodeAt(i), s.length);

describe('parseTimestamp', () => {
  it('keeps years 0001-0099 (Date.UTC maps them to 1901-1999)', () => {
    expect(parseTimestamp('0001-01-01T00:00:00Z')).toBe(-62135596800000);
    expect(parseTimestamp('0099-12-31T23:59:59.999Z')).toBe(Date.parse('0099-12-31T23:59:59.999Z'));
    expect(canonical('0001-01-01T00:00:00Z')).toBe(-62135596800000);
    expect(parseTimestamp('0050-06-15')).toBe(Date.parse('0050-06-15T00:00:00Z'));
    expect(parseTimestamp('0000-01-01T00:00:00Z')).toBe(Date.parse('0000-01-01T00:00:00Z'));
    expect(parseTimestamp('-000100-03-01T00:00:00Z')).toBe(Date.parse('-000100-03-01T00:00:00Z'));
    expect(parseTimestamp('+012026-01-01T00:00:00Z')).toBe(Date.parse('+012026-01-01T00:00:00Z'));
  });

  it('refuses dates and times that do not exist instead of rolling them over', () => {
    for (const s of [
      '2026-02-30',
      '2026-02-29T00:00:00Z',
      '2026-02-30T00:00:00Z',
      '2026-04-31T10:00:00',
      '2026-13-01',
      '2026-00-10',
      '2026-01-01T24:00:00Z',
      '2026-01-01T23:60:00Z',
      '2026-01-01T23:59:60Z',
      '2026-01-01T10:00:00+25:00',
    ])
      expect(parseTimestamp(s), s).toBeNull();
    expect(canonical('2026-02-30T00:00:00Z')).toBeNaN();
    expect(parseTimestamp('2024-02-29T12:00:00Z')).toBe(Date.parse('2024-02-29T12:00:00Z'));
    expect(parseTimestamp('2000-02-29')).toBe(Date.parse('2000-02-29T00:00:00Z'));
    expect(parseTimestamp('1900-02-29')).toBeNull();
  });

  it('reads zones, fractions and the shapes producers write', () => {
    expect(parseTimestamp('2026-01-01T10:00:00+14:00')).toBe(Date.parse('2026-01-01T10:00:00+14:00'));
    expect(parseTimestamp('2026-01-01T10:00:00-0530')).toBe(Date.parse('2026-01-01T10:00:00-05:30'));
    expect(parseTimestamp('2026-01-01 10:00:00+05')).toBe(Date.parse('2026-01-01T10:00:00+05:00'));
    expect(parseTimestamp('2026-01-01T10:00')).toBe(Date.parse('2026-01-01T10:00:00Z'));
    expect(parseTimestamp('2026-01-01T00:00:00.1687451Z')).toBe(Date.parse('2026-01-01T00:00:00.168Z'));
    expect(parseTimestamp('2026-01-01T00:00:00.5Z')).toBe(Date.parse('2026-01-01T00:00:00.500Z'));
    expect(parseTimestamp('1969-12-31T23:59:59.999Z')).toBe(-1);
    for (const s of ['', 'yesterday', '2026-1-1', '2026-01-01T', '2026-01-01Z', '12026-01-01T00:00:00Z junk']) expect(parseTimestamp(s), s).toBeNull();
  });

  it('agrees with Date.UTC on every day of four centuries', () => {
    for (let d = -146097 * 2; d < 146097 * 2; d += 7) {
      const date = new Date(d * 86_400_000);
      expect(daysFromCivil(date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate())).toBe(d);
    }
  });
});

describe('the canonical fast path', () => {
  // Every position of `YYYY-MM-DDTHH:MM:SS[.fff]Z` spoiled in turn: the fast path must refuse it (NaN) rather than read a
  // neighbouring date, and parseTimestamp must then answer as the full grammar does.
  const base20 = '1999-12-09T19:59:59Z';
  const base24 = '1999-12-09T19:59:59.949Z';
  const spoil = (s: string, i: number, c: string) => s.slice(0, i) + c + s.slice(i + 1);

  it('reads the digits next to the character-code bounds (0 and 9)', () => {
    expect(canonical(base20)).toBe(Date.UTC(1999, 11, 9, 19, 59, 59));
    expect(canonical(base24)).toBe(Date.UTC(1999, 11, 9, 19, 59, 59, 949));
    expect(canonical('2000-10-01T00:00:00.090Z')).toBe(Date.UTC(2000, 9, 1, 0, 0, 0, 90));
    expect(parseTimestamp(base24)).toBe(Date.UTC(1999, 11, 9, 19, 59, 59, 949));
  });

  it('refuses a spoiled character at every position', () => {
    for (const base of [base20, base24])
      for (let i = 0; i < base.length; i++)
        for (const c of ['/', ':', 'x', ' ']) {
          if (c === base[i]) continue;
          const bad = spoil(base, i, c);
          expect(canonical(bad), bad).toBeNaN();
          const full = parseTimestamp(bad);
          if (full !== null) expect(c === ' ' || (i === 10 && c !== 'x')).toBe(true); // the grammar allows a space for T
        }
    expect(canonicalUtc((i) => base20.charCodeAt(i), 21)).toBeNaN();
    expect(canonical('1999-12-09T19:59:59.9Z')).toBeNaN();
  });

  it('is only taken for lengths 20 and 24, and never changes an answer', () => {
    for (const s of ['2024-01-30T00:00:00Z', '2024-03-31T12:00:00.001Z', '2026-03-01T00:00:00.5Z', '2026-03-01T00:00:00.12Z', '2026-03-01T00:00:00+01:00'])
      expect(parseTimestamp(s), s).toBe(Date.parse(s));
    expect(parseTimestamp('2026-03-00T00:00:00Z')).toBeNull();
    expect(parseTimestamp('2026-03-01T00:00:00.99Z')).toBe(Date.UTC(2026, 2, 1, 0, 0, 0, 990));
  });
});

describe('range and zone bounds', () => {
  const MAX = 8.64e15;
  it('holds exactly the range a JavaScript Date holds, before and after the zone', () => {
    expect(parseTimestamp('+275760-09-13T00:00:00Z')).toBe(MAX);
    expect(parseTimestamp('+275760-09-13T00:00:00.001Z')).toBeNull();
    expect(parseTimestamp('-271821-04-20T00:00:00Z')).toBe(-MAX);
    expect(parseTimestamp('+275760-09-13T00:00:00-00:01')).toBeNull();
    expect(parseTimestamp('+275760-09-12T23:59:00-00:01')).toBe(MAX);
  });

  it('takes zone offsets up to 23:59 and refuses larger ones', () => {
    expect(parseTimestamp('2026-01-01T10:00:00+23:00')).toBe(Date.UTC(2026, 0, 1, 10) - 23 * 3_600_000);
    expect(parseTimestamp('2026-01-01T10:00:00+00:59')).toBe(Date.UTC(2026, 0, 1, 10) - 59 * 60_000);
    expect(parseTimestamp('2026-01-01T10:00:00-23:59')).toBe(Date.UTC(2026, 0, 1, 10) + (23 * 60 + 59) * 60_000);
    expect(parseTimestamp('2026-01-01T10:00:00+00:60')).toBeNull();
    expect(parseTimestamp('2026-01-01T10:00:00+24:00')).toBeNull();
    expect(parseTimestamp('2026-01-01T10:00:00z')).toBe(Date.UTC(2026, 0, 1, 10));
  });
});

describe('microseconds', () => {
  it('keeps the microseconds of three to six fraction digits only', () => {
    expect(parseTimestampMicros('2026-01-01T00:00:00.123Z')).toBe(BigInt(Date.UTC(2026, 0, 1)) * 1000n + 123_000n);
    expect(parseTimestampMicros('2026-01-01T00:00:00.1234Z')).toBe(BigInt(Date.UTC(2026, 0, 1)) * 1000n + 123_400n);
    expect(parseTimestampMicros('2026-01-01T00:00:00Z')).toBe(BigInt(Date.UTC(2026, 0, 1)) * 1000n);
  });

  it('floors fractional and negative microseconds given as numbers or bigints', () => {
    expect(microsToMs(1500.5)).toBe(1);
    expect(microsToMs(-1)).toBe(-1);
    expect(microsToMs(-1000n)).toBe(-1);
    expect(microsToMs(-1001n)).toBe(-2);
    expect(microsToMs(2 ** 60)).toBe(Number(2n ** 60n / 1000n));
    expect(isoOfMicros(1_000_005n)).toBe('1970-01-01T00:00:01.000005Z');
  });

  it('parses to the microsecond, exactly, over the whole year range', () => {
    expect(parseTimestampMicros('2023-06-22T10:11:12.1687451Z')).toBe(BigInt(Date.parse('2023-06-22T10:11:12.168Z')) * 1000n + 745n);
    expect(parseTimestampMicros('9999-12-31T23:59:59.999999Z')).toBe(253402300799999999n);
    expect(parseTimestampMicros('0001-01-01T00:00:00.000001Z')).toBe(-62135596799999999n);
    expect(parseTimestampMicros('1969-12-31T23:59:59.9995Z')).toBe(-500n);
    expect(parseTimestampMicros('2026-02-30T00:00:00Z')).toBeNull();
  });

  it('rounds to milliseconds downward and writes ISO text with the microseconds', () => {
    expect(microsToMs(-500n)).toBe(-1);
    expect(microsToMs(253402300799999999n)).toBe(253402300799999);
    expect(microsToMs(-62135596799999999n)).toBe(-62135596800000);
    expect(isoOfMicros(-500n)).toBe('1969-12-31T23:59:59.999500Z');
    expect(isoOfMicros(1687428672168745n)).toBe('2023-06-22T10:11:12.168745Z');
    expect(isoOfMicros(1687428672168000n)).toBe('2023-06-22T10:11:12.168Z');
  });

  it('timestamp columns hold microseconds: built from ms or exact µs, read back as ms', () => {
    const b = new ColumnBuilder('timestamp', 4);
    b.appendNumber(1687428672168); // ms
    b.appendNumber(253402300799999); // ms beyond 2^53 µs
    b.appendNumber(253402300799999999n); // µs
    b.appendNumber(-62135596800000); // year 1
    const d = b.finish();
    expect([...(d.values as BigInt64Array)]).toEqual([1687428672168000n, 253402300799999000n, 253402300799999999n, -62135596800000000n]);
    expect([...numbersOf(d)]).toEqual([1687428672168, 253402300799999, 253402300799999, -62135596800000]);
    expect(cellValue(d, 2)).toBe('9999-12-31T23:59:59.999999Z');
  });
});
