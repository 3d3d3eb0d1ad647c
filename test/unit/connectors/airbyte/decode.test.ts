// airbyte_decode's byte-scanner fast path must give exactly what the JSON.parse path gives. Oracle: the same line
// with an escaped string in an unwanted `data` member, which the scanner never takes (and which changes no column).
import { describe, expect, it } from 'vitest';
import { airbyteDecode } from '../../../../connectors/airbyte/decode.js';
import { RecordScanner } from '../../../../connectors/airbyte/record-scanner.js';
import { LINES_SCHEMA } from '../../../../connectors/jsonl/lines.js';
import { operatorHarness } from '../../../../engine/testing.js';

const DATA: [string, 'int64' | 'int32' | 'string' | 'float64' | 'bool' | 'timestamp', string][] = [
  ['id', 'int64', 'id'],
  ['small', 'int32', 'small'],
  ['name', 'string', 'name'],
  ['amount', 'float64', 'amount'],
  ['ok', 'bool', 'ok'],
  ['at', 'timestamp', 'at'],
];
const stream = (name: string, namespace: string | null, port: string) => ({
  name,
  namespace,
  port,
  data: DATA,
  wholeRecord: false,
  generationId: 3,
  syncId: 9,
});
const config = { maxLineBytes: 1 << 20, streams: [stream('users', null, 'users'), stream('users', 'crm', 'crm_users')] };

async function decode(lines: string[]) {
  const h = operatorHarness(airbyteDecode, config, LINES_SCHEMA);
  await h.push(lines.map((line) => ({ line, bytes: Buffer.byteLength(line) })));
  // Raw ids are random: checked for their UUID v4 form and uniqueness, then left out of the comparison.
  const ids = new Set<unknown>();
  const strip = (rows: Record<string, unknown>[]) =>
    rows.map(({ _airbyte_raw_id, ...rest }) => {
      expect(_airbyte_raw_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(ids.has(_airbyte_raw_id)).toBe(false);
      ids.add(_airbyte_raw_id);
      return rest;
    });
  return { users: strip(h.rows('users')), crm: strip(h.rows('crm_users')), dead: h.deadLetters.map((d) => d.reason) };
}

/** The line forced onto the JSON.parse path. */
const slow = (line: string) => line.replace(/("data"\s*:\s*\{)/, '$1"_unwanted":"\\u0041",');

const LINES = [
  '{"type":"RECORD","record":{"stream":"users","data":{"id":1,"small":2,"name":"ann","amount":1.5,"ok":true,"at":"2024-06-01T10:00:00Z"},"emitted_at":1717236000000}}',
  '{"type": "RECORD", "record": {"stream": "users", "data": {"id": 2, "name": "ü€😀", "amount": -0.25e2}, "emitted_at": 1717236000001.7}}',
  '{"record":{"data":{"id":3},"stream":"users","emitted_at":5},"type":"RECORD"}',
  '{"type":"RECORD","record":{"stream":"users","data":{"id":4,"at":"2024-06-01T10:00:00.123Z"},"emitted_at":6,"namespace":"crm"}}',
  '{"type":"RECORD","record":{"stream":"users","namespace":"","data":{"id":5},"emitted_at":7}}',
  '{"type":"RECORD","record":{"stream":"users","namespace":null,"data":{"id":6},"emitted_at":8,"meta":null,"extra":[1,{"a":2}]},"other":true}',
  '{"type":"RECORD","record":{"stream":"users","data":{"id":7},"emitted_at":9,"meta":{"changes":[{"field":"name","change":"TRUNCATED","reason":"SOURCE_FIELD_SIZE_LIMITATION"}]}}}',
  '{"type":"RECORD","record":{"stream":"users","data":{"id":"8","name":42,"ok":"yes","amount":"2.5"},"emitted_at":10}}',
  '{"type":"RECORD","record":{"stream":"users","data":{"id":9007199254740993,"small":3000000000},"emitted_at":11}}',
  '{"type":"RECORD","record":{"stream":"users","data":{"id":1.5,"at":1717236000000},"emitted_at":12}}',
  '{"type":"RECORD","record":{"stream":"users","data":{"id":10,"at":"2024-06-01 12:00:00+02:00","name":null},"emitted_at":13}}',
  '{"type":"RECORD","record":{"stream":"users","data":{"id":11,"id":12,"name":{"nested":1}},"emitted_at":14}}',
  '{"type":"RECORD","record":{"stream":"users","data":{"id":13,"at":"not a time"},"emitted_at":15}}',
  '{"type":"RECORD","record":{"stream":"orders","data":{"id":14},"emitted_at":16}}',
  '{"type":"RECORD","record":{"stream":"users","data":{"id":15},"emitted_at":"17"}}',
  '{"type":"RECORD","record":{"stream":"users","data":{"id":16,"amount":1e400},"emitted_at":18}}',
  '{"type":"RECORD","record":{"stream":"users","data":{"id":17,"small":-2147483649},"emitted_at":19}}',
];

describe('airbyte_decode fast path', () => {
  it('decodes every line exactly as the JSON.parse path does', async () => {
    for (const line of LINES) {
      expect(slow(line), 'the oracle line must differ').not.toBe(line);
      expect(await decode([line]), line).toEqual(await decode([slow(line)]));
    }
  });

  it('decodes a whole batch of mixed lines alike, rows in order', async () => {
    const fast = await decode(LINES);
    expect(fast).toEqual(await decode(LINES.map(slow)));
    expect(fast.users.map((r) => r.id)).toEqual([1, 2, 3, 5, 6, 7, 8, '9007199254740993', null, 10, 12, 13, 16, 17]);
    expect(fast.crm.map((r) => r.id)).toEqual([4]);
    expect(fast.dead).toEqual(['stream `orders` is not in the catalog', 'RECORD message: record.emitted_at: expected a number']);
  });

  it('reads the common shapes itself and leaves the rest to JSON.parse', () => {
    const scanner = new RecordScanner(
      config.streams.map((s) => ({ name: s.name, namespace: s.namespace, fields: s.data.map(([, type, key]) => [key, type] as const), stream: s.port })),
    );
    const scans = (line: string) => {
      const bytes = Buffer.from(line);
      return scanner.scan(bytes, 0, bytes.length) ? scanner.stream : null;
    };
    expect(LINES.map(scans)).toEqual([
      'users',
      'users',
      null,
      null,
      'users',
      'users',
      null,
      null,
      'users',
      'users',
      'users',
      null,
      'users',
      null,
      null,
      'users',
      'users',
    ]);
    expect(LINES.map((l) => scans(slow(l)))).toEqual(LINES.map(() => null));
  });
});
