/**
 * Recorded syncs: Airbyte's own destination test material in shared/fixtures/airbyte, and the ones made for the
 * fidelity classes (issue "fidelity"), one per class, written as a connector would write
 * them: the messages file and the catalog inferred from their values. Each class is a kind of input that once lost or
 * changed data on its way through abflow; the conformance suite runs them beside Airbyte's own fixtures.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED } from '../kit/cli.js';

export const AB = join(SHARED, 'fixtures/airbyte/airbytehq-airbyte');
export const CDK = join(AB, 'airbyte-cdk/java/airbyte-cdk/db-destinations/src/testFixtures/resources');
export const STD = join(AB, 'airbyte-integrations/bases/standard-destination-test/src/main/resources');
export const DEV_NULL = join(AB, 'airbyte-integrations/connectors/destination-dev-null/src/test/resources');

/** Airbyte's message files with their catalogs (needs ../shared). */
export const AIRBYTE_FIXTURES: [name: string, messages: string, catalog: string][] = [
  ['exchange_rate v0', `${CDK}/v0/exchange_rate_messages.txt`, `${STD}/exchange_rate_catalog.json`],
  ['exchange_rate v1', `${CDK}/v1/exchange_rate_messages.txt`, `${STD}/v1/exchange_rate_catalog.json`],
  ['edge cases v0', `${CDK}/v0/edge_case_messages.txt`, `${STD}/edge_case_catalog.json`],
  ['edge cases v1', `${CDK}/v1/edge_case_messages.txt`, `${STD}/v1/edge_case_catalog.json`],
  ['edge cases (standard test)', `${STD}/edge_case_messages.txt`, `${STD}/edge_case_catalog.json`],
  ['namespace', `${CDK}/v0/namespace_messages.txt`, `${CDK}/v0/namespace_catalog.json`],
  ['data types', `${CDK}/v0/data_type_basic_test_messages.txt`, `${CDK}/v0/data_type_basic_test_catalog.json`],
  ['generation ids', `${CDK}/v0/users_with_generation_id_messages.txt`, `${CDK}/v0/users_with_generation_id_configured_catalog.json`],
  ['dev-null', `${DEV_NULL}/test-data.jsonl`, `${DEV_NULL}/test-catalog.json`],
];

export interface Recording {
  readonly name: string;
  readonly messages: string;
  readonly catalog: string;
}

const rec = (stream: string, data: string, emittedAt = 1_700_000_000_000, extra = '') =>
  `{"type":"RECORD","record":{"stream":"${stream}","data":${data},"emitted_at":${emittedAt}${extra}}}`;
const streamState = (stream: string, n: number) =>
  `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"${stream}"},"stream_state":{"cursor":${n}}}}}`;
const globalState = (n: number) => `{"type":"STATE","state":{"type":"GLOBAL","global":{"shared_state":{"lsn":${n}},"stream_states":[]}}}`;

const CLASSES: Record<string, { lines: string[]; streams: Record<string, Record<string, unknown>> }> = {
  // Years 1-99, impossible dates, digits below the millisecond, zones, the last representable day.
  timestamps: {
    streams: {
      events: {
        id: { type: 'integer' },
        at: { type: 'string', format: 'date-time' },
        local: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_without_timezone' },
        day: { type: 'string', format: 'date' },
      },
    },
    lines: [
      rec('events', '{"id":1,"at":"0001-01-01T00:00:00Z","local":"0099-12-31T23:59:59","day":"0050-06-15"}'),
      rec('events', '{"id":2,"at":"2026-02-30T00:00:00Z","local":"2026-04-31T10:00:00","day":"2026-02-30"}'),
      rec('events', '{"id":3,"at":"2023-06-22T10:11:12.1687451Z","local":"2023-06-22T10:11:12.168745","day":"2024-02-29"}'),
      rec('events', '{"id":4,"at":"2023-06-22T10:11:12+05:30","local":"2023-06-22 10:11:12","day":"1900-02-29"}'),
      rec('events', '{"id":5,"at":"9999-12-31T23:59:59.999Z","local":null,"day":null}'),
      streamState('events', 5),
    ],
  },
  // Key order, explicit nulls and missing keys, number and string spellings, keys the catalog does not declare.
  spelling: {
    streams: {
      items: {
        id: { type: 'integer' },
        price: { type: 'number' },
        label: { type: 'string' },
        tags: { type: 'array' },
        big: { type: 'integer' },
        note: { type: ['null', 'string'] },
      },
    },
    lines: [
      rec('items', '{"label":"b\\u00e9ta \\"quoted\\"","id":1,"price":1.50,"note":null,"tags":[1, "x"],"big":12345678901234567}'),
      rec('items', '{"id":2,"price":1e2,"extra":{"kept":true},"big":-9007199254740993}'),
      rec('items', '{"id":3,"price":-0.0,"label":"","tags":[],"note":"n","big":0}'),
      streamState('items', 3),
      rec('items', '{ "id" : 4 , "price" : 10 , "label" : "spaced" }'),
      streamState('items', 4),
    ],
  },
  // Data fields named like Airbyte's own columns (a replicated raw or final Airbyte table).
  airbyte_named: {
    streams: {
      raw_users: {
        _airbyte_ab_id: { type: 'string' },
        _airbyte_data: { type: 'object' },
        _airbyte_emitted_at: { type: 'string', format: 'date-time' },
        _airbyte_raw_id: { type: 'string' },
        _airbyte_meta: { type: 'object' },
        id: { type: 'integer' },
      },
    },
    lines: [
      rec(
        'raw_users',
        '{"_airbyte_ab_id":"a1","_airbyte_data":{"name":"Ann"},"_airbyte_emitted_at":"2024-01-01T00:00:00Z","_airbyte_raw_id":"r1","_airbyte_meta":{"changes":[]},"id":1}',
      ),
      rec(
        'raw_users',
        '{"_airbyte_ab_id":"a2","_airbyte_data":{"name":"Bo"},"_airbyte_emitted_at":"2024-01-02T00:00:00Z","_airbyte_raw_id":"r2","_airbyte_meta":null,"id":2}',
      ),
      globalState(2),
    ],
  },
  // Field names that differ only in case (a spreadsheet export with both spellings).
  case_collision: {
    streams: { staff: { Termination_Date: { type: 'string' }, Termination_date: { type: 'string' }, ID: { type: 'integer' }, id: { type: 'integer' } } },
    lines: [
      rec('staff', '{"Termination_Date":"2024-01-31","Termination_date":"31/01/2024","ID":7,"id":8}'),
      rec('staff', '{"Termination_date":"x","id":9}'),
      streamState('staff', 2),
    ],
  },
  // Messages a destination must reject, each with a TRACE error, counted in rejectedRecordCount.
  rejects: {
    streams: { orders: { id: { type: 'integer' } } },
    lines: [
      rec('orders', '{"id":1}'),
      '{"type":"RECORD","record":{"stream":"orders","data":{"id":2}}}',
      '{"type":"RECORD","record":{"stream":"orders","data":[2],"emitted_at":1}}',
      '{"type":"RECORD","record":{"stream":"orders","data":"id=2","emitted_at":1}}',
      rec('unknown_stream', '{"id":3}'),
      '{"type":"RECORD","record":{"stream":"orders","data":{"id":4},"emitted_at":1}',
      rec('orders', '{"id":5}'),
      streamState('orders', 5),
    ],
  },
  // Odd spellings connectors write: escaped keys, exponents, a number beyond float64, integers beyond 2^53, nanosecond
  // fractions with an offset, unknown record members, `type` last, `": "` separators, a namespace.
  oddities: {
    streams: {
      s: { a: { type: 'integer' }, 'b"q': { type: 'string' }, f: { type: 'number' }, t: { type: 'string', format: 'date-time' }, o: { type: 'object' } },
    },
    lines: [
      '{"type":"RECORD","record":{"stream":"s","data":{"a":2,"b\\"q":"x\\u00e9\\n","f":1E5,"t":"2024-01-01T00:00:00.123456789+02:00","o":{"k":[1,{"z":null}]},"extra":[1e400]},"emitted_at":1,"meta":{"changes":[]},"unknown":{"x":1}}}',
      '{"type": "RECORD", "record": {"stream": "s", "data": {"f": 1e400, "a": "7", "t": "not a time"}, "emitted_at": 2}}',
      '{"record":{"stream":"s","data":{"f":-0,"a":9007199254740993},"emitted_at":3},"type":"RECORD"}',
      streamState('s', 3),
    ],
  },
  // A STATE every record, meta changes from the source, a stream status, two streams under GLOBAL states.
  states: {
    streams: { a: { n: { type: 'integer' } }, b: { s: { type: 'string' } } },
    lines: [
      rec('a', '{"n":1}'),
      globalState(1),
      rec('b', '{"s":"x"}', 1_700_000_000_001, ',"meta":{"changes":[{"field":"s","change":"TRUNCATED","reason":"SOURCE_FIELD_SIZE_LIMITATION"}]}'),
      globalState(2),
      '{"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":1.0,"stream_status":{"stream_descriptor":{"name":"a"},"status":"COMPLETE"}}}',
      rec('b', '{"s":"y"}'),
      globalState(3),
      globalState(4),
    ],
  },
};

/** Writes every class's messages and catalog (a plain catalog, as `discover` gives) into `dir`. */
export function writeRecordings(dir: string): Recording[] {
  return Object.entries(CLASSES).map(([name, c]) => {
    const messages = join(dir, `${name}.jsonl`);
    const catalog = join(dir, `${name}.catalog.json`);
    writeFileSync(messages, c.lines.join('\n') + '\n');
    const streams = Object.entries(c.streams).map(([stream, properties]) => ({
      name: stream,
      json_schema: { type: 'object', properties },
      supported_sync_modes: ['full_refresh'],
    }));
    writeFileSync(catalog, JSON.stringify({ streams }));
    return { name, messages, catalog };
  });
}
