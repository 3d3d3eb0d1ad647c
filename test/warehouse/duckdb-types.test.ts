/**
 * The duckdb sink writes Arrow columns into DuckDB vectors as raw bytes (connectors/duckdb/chunk.ts). Every column
 * type must read back exactly as the rows went in: nulls at any position, strings on both sides of DuckDB's 12-byte
 * inline limit and multi-byte UTF-8, timestamps before 1970 and beyond the range where ms → µs is exact in a double,
 * batches that are slices of larger ones (non-zero Arrow offsets), batches longer than one 2048-row chunk, and long
 * strings that are the same on every row of a chunk (written as one constant vector) or on all but one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { batchFromRows, schemaOf } from '../../engine/api.js';
import { duckdb } from '../../connectors/duckdb/sink.js';
import { rows } from '../kit/duckdb.js';
import { systemClock } from '../../engine/time/clock.js';

const dir = mkdtempSync(join(tmpdir(), 'abflow-duckdb-types-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const schema = schemaOf({ i: 'int64', n32: 'int32', f: 'float64', b: 'bool', s: 'string', j: 'json', ts: 'timestamp', d: 'date', c: 'string', cj: 'json' });
const CONSTANT = 'the same long text on (almost) every row';
const strings = ['', 'a', 'exactly12byt', 'thirteen byte', 'ünïcödé ≥ 12 bytes', '日本', 'x'.repeat(5000)];
const stamps = [0, -1, 1_700_000_000_123, -86_400_000 * 365 * 300, 9_007_199_254_741 * 3, -9_007_199_254_741 * 2];

function row(k: number): Record<string, unknown> {
  const nul = (m: number) => k % m === 0;
  return {
    i: nul(7) ? null : BigInt(k) * 1_000_000_007n - 5n,
    n32: nul(5) ? null : k - 1000,
    f: nul(3) ? null : k / 7,
    b: nul(11) ? null : k % 2 === 0,
    s: nul(13) ? null : `${strings[k % strings.length]}${k % 4 === 0 ? '' : k}`,
    j: nul(17) ? null : JSON.stringify({ k, tag: strings[k % 3] }),
    ts: nul(19) ? null : stamps[k % stamps.length]! + k,
    d: nul(23) ? null : k - 20_000,
    c: k === 4000 ? `${CONSTANT}!` : CONSTANT,
    cj: '{"sync_id":7,"changes":[]}',
  };
}

const expected = (r: Record<string, unknown>) => [r.i, r.n32, r.f, r.b, r.s, r.j, r.ts === null ? null : BigInt(r.ts as number) * 1000n, r.d, r.c, r.cj];

describe('duckdb sink column encoding', () => {
  it('reads back every type exactly, through sliced batches and several chunks', async () => {
    const all = Array.from({ length: 5000 }, (_, k) => row(k + 1));
    const whole = batchFromRows(schema, all);
    const path = join(dir, 'types.duckdb');
    const sink = duckdb.create(duckdb.config.parse({ path, table: 't' }), { nodeId: 't', job: 'types', inputs: [schema], clock: systemClock });
    await sink.open?.();
    // Slices at odd offsets: Arrow data offsets that are not byte-aligned in the validity bitmaps.
    await sink.write(whole.slice(0, 3), 0);
    await sink.write(whole.slice(3, 2501), 0);
    await sink.write(whole.slice(2501), 0);
    await sink.close();
    const got = await rows(path, 'SELECT i, n32, f, b, s, j::VARCHAR, epoch_us(ts), d, c, cj::VARCHAR FROM t ORDER BY rowid');
    expect(got.length).toBe(all.length);
    for (let k = 0; k < all.length; k++) {
      const g = got[k]!;
      const d = g[7] as { days: number } | null;
      expect([g[0], g[1], g[2], g[3], g[4], g[5], g[6], d === null ? null : d.days, g[8], g[9]], `row ${k}`).toEqual(expected(all[k]!));
    }
  });
});
