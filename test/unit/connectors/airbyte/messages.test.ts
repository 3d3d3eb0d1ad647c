/** The pure parts of the Airbyte connector: member splicing, RECORD shape recognition, catalog typing, stats. */
import { describe, expect, it } from 'vitest';
import { columnTypeForJsonSchema, parseCatalog } from '../../../../connectors/airbyte/catalog.js';
import { MessageReader, recordStream, resumeStateOf, type StateMarker, stateFileText, withStats } from '../../../../connectors/airbyte/messages.js';
import { InvalidMessage, parseMessage } from '../../../../connectors/airbyte/protocol.js';
import { members, setMember } from '../../../../connectors/airbyte/raw-json.js';

const line = (s: string) => Buffer.from(s);

describe('raw-json', () => {
  it('finds member spans without re-encoding, through strings holding braces and escapes', () => {
    const text = '{"a": "x}\\"{", "b" : {"c": [1, {"d": 12345678901234567890}]}, "e": null}';
    expect([...members(text).keys()]).toEqual(['a', 'b', 'e']);
    const [bs, be] = members(text).get('b')!;
    const [cs, ce] = members(text, bs, be).get('c')!;
    expect(text.slice(cs, ce)).toBe('[1, {"d": 12345678901234567890}]');
    expect(setMember(text, 'e', '{"n":1.0}')).toBe('{"a": "x}\\"{", "b" : {"c": [1, {"d": 12345678901234567890}]}, "e": {"n":1.0}}');
    expect(setMember('{}', 'k', '1')).toBe('{"k":1}');
  });
});

describe('RECORD shapes', () => {
  it('recognises the common serialisations and leaves everything doubtful to the parser', () => {
    expect(recordStream(line('{"type":"RECORD","record":{"stream":"users","data":{}}}'), 0, 47)).toBe('users');
    const spaced = '{"type": "RECORD", "record": {"stream": "a b", "data": {}}}';
    expect(recordStream(line(spaced), 0, spaced.length)).toBe('a b');
    const last = '{"record":{"stream":"builds","data":{}},"type":"RECORD"}';
    expect(recordStream(line(last), 0, last.length)).toBe('builds');
    // The inner object ends with "type":"RECORD"} but the message's own type is elsewhere: parsed instead.
    const nested = '{"record":{"stream":"x","data":{"type":"RECORD"}},"type":"STATE"}';
    expect(recordStream(line(nested), 0, nested.length)).toBeNull();
    const ns = '{"type":"RECORD","record":{"stream":"users","namespace":"n","data":{}}}';
    expect(recordStream(line(ns), 0, ns.length)).toBeNull();
    const escaped = '{"type":"RECORD","record":{"stream":"a\\"b","data":{}}}';
    expect(recordStream(line(escaped), 0, escaped.length)).toBeNull();
  });

  it('finds a namespace on any line of a read chunk, whichever chunk came before', () => {
    const plain = '{"type":"RECORD","record":{"stream":"users","data":{}}}';
    const ns = '{"type":"RECORD","record":{"stream":"users","data":{},"namespace":"n"}}';
    const first = line(`${plain}\n${plain}\n`);
    expect(recordStream(first, 0, plain.length)).toBe('users');
    const second = line(`${plain}\n${ns}\n`);
    expect(recordStream(second, 0, plain.length)).toBe('users');
    expect(recordStream(second, plain.length + 1, plain.length + 1 + ns.length)).toBeNull();
    expect(recordStream(first, plain.length + 1, 2 * plain.length + 1)).toBe('users');
  });
});

describe('protocol messages', () => {
  it('validates payloads, keeps unknown keys and names the bad field', () => {
    const m = parseMessage('{"type":"STATE","state":{"type":"LEGACY","data":{"x":1}},"sourceIdentity":{"k":1}}');
    expect(m).toMatchObject({ type: 'STATE', sourceIdentity: { k: 1 } });
    expect((parseMessage('{"type":"RECORD","record":{"stream":"s","data":[],"emitted_at":1}}') as InvalidMessage).reason).toBe(
      'RECORD message: record.data: expected an object',
    );
    expect((parseMessage('{"type":"TRACE","trace":{"type":"NOPE","emitted_at":1}}') as InvalidMessage).reason).toMatch(/^TRACE message: trace.type/);
    expect(parseMessage('{"type":"HELLO"}')).toBeInstanceOf(InvalidMessage);
  });
});

describe('catalog typing', () => {
  it('maps Airbyte types to columns', () => {
    expect(columnTypeForJsonSchema({ type: ['null', 'integer'] })).toBe('int64');
    expect(columnTypeForJsonSchema({ type: 'number', airbyte_type: 'integer' })).toBe('int64');
    expect(columnTypeForJsonSchema({ type: 'string', airbyte_type: 'big_number' })).toBe('string');
    expect(columnTypeForJsonSchema({ type: 'string', format: 'date-time', airbyte_type: 'timestamp_without_timezone' })).toBe('timestamp');
    expect(columnTypeForJsonSchema({ type: 'string', format: 'time', airbyte_type: 'time_with_timezone' })).toBe('string');
    expect(columnTypeForJsonSchema({ type: 'string', format: 'date' })).toBe('date');
    expect(columnTypeForJsonSchema({ oneOf: [{ type: 'string' }, { type: 'integer' }] })).toBe('json');
    expect(columnTypeForJsonSchema({ type: 'object', properties: {} })).toBe('json');
    expect(columnTypeForJsonSchema({ $ref: 'WellKnownTypes.json#/definitions/Integer' })).toBe('int64');
  });

  it('gives a schemaless stream one _airbyte_data column, and ports to namespaced twins', () => {
    const streams = parseCatalog(
      JSON.stringify({
        streams: [
          { name: 's', namespace: 'a', json_schema: {} },
          { name: 's', namespace: 'b', json_schema: { properties: { x: { type: 'boolean' } } } },
        ],
      }),
      'test',
    );
    expect(streams.map((s) => s.port)).toEqual(['a_s', 'b_s']);
    expect(Object.keys(streams[0]!.columns)[0]).toBe('_airbyte_data');
    expect(streams[1]!.columns.x).toBe('bool');
  });
});

describe('STATE bookkeeping', () => {
  it('counts per stream for STREAM states and over all streams for GLOBAL, and keeps resume state verbatim', () => {
    const r = new MessageReader({}, true, { records: 1, intervalMs: 0, now: () => 0 });
    const feed = (s: string) => r.inspect(line(s), 0, Buffer.byteLength(s), 1);
    const rec = (stream: string) => feed(`{"type":"RECORD","record":{"stream":"${stream}","data":{},"emitted_at":1}}`);
    (rec('a'), rec('b'), rec('a'));
    const sa = feed('{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":{"n": 1.50}}}}');
    expect((sa!.marker as StateMarker).recordCount).toBe(2);
    rec('b');
    const g = feed('{"type":"STATE","state":{"type":"GLOBAL","global":{"shared_state":{"lsn":99999999999999999999},"stream_states":[]}}}');
    expect((g!.marker as StateMarker).recordCount).toBe(2);
    expect(stateFileText(r.resumeState!)).toBe('[{"type":"GLOBAL","global":{"shared_state":{"lsn":99999999999999999999},"stream_states":[]}}]');
    expect(withStats(sa!.marker as StateMarker, 'destinationStats', { recordCount: 2 })).toBe(
      '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":{"n": 1.50}},"destinationStats":{"recordCount":2.0}}}',
    );
  });

  it('groups commits: a STATE commits once enough records or time came since the last commit, the rest ride along', () => {
    let now = 0;
    const r = new MessageReader({}, true, { records: 3, intervalMs: 1000, now: () => now });
    const feed = (s: string) => r.inspect(line(s), 0, Buffer.byteLength(s), 1);
    const rec = () => feed('{"type":"RECORD","record":{"stream":"a","data":{},"emitted_at":1}}');
    const state = (n: number) => feed(`{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":{"n":${n}}}}}`);
    rec();
    const s1 = state(1);
    expect(s1!.marker).toBeDefined();
    expect(s1!.commit).toBeUndefined(); // 1 record, no time passed
    expect(r.uncommitted).toBe(1);
    (rec(), rec());
    const s2 = state(2); // 3 records since the last commit
    expect(s2!.commit).toEqual({
      resumeAfter: { type: 'STREAM', states: [['a', '{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":{"n":2}}}']] },
    });
    expect(r.uncommitted).toBe(0);
    rec();
    expect(state(3)!.commit).toBeUndefined();
    now = 1000; // time alone
    expect(state(4)!.commit).toBeDefined();
  });

  it('fails the read on a FAILED connection status or an ERRORED source status, and commits nothing after it', () => {
    const r = new MessageReader({}, true, { records: 1, intervalMs: 0, now: () => 0 });
    const feed = (s: string) => r.inspect(line(s), 0, Buffer.byteLength(s), 1);
    feed('{"type":"RECORD","record":{"stream":"a","data":{},"emitted_at":1}}');
    expect(feed('{"type":"STATE","state":{"type":"LEGACY","data":{"n":1}}}')!.commit).toBeDefined();
    expect(r.failure).toBeNull();
    feed('{"type":"STATE","state":{"type":"LEGACY","data":{"n":2}},"sourceStatus":{"status":"ERRORED","message":"page 7 failed"}}');
    expect(r.failure).toBe('source status ERRORED: page 7 failed');
    expect(feed('{"type":"STATE","state":{"type":"LEGACY","data":{"n":3}}}')!.commit).toBeUndefined();
    const c = new MessageReader({}, true, { records: 1, intervalMs: 0, now: () => 0 });
    const status = '{"type":"CONNECTION_STATUS","connectionStatus":{"status":"FAILED","message":"bad key"}}';
    c.inspect(line(status), 0, Buffer.byteLength(status), 1);
    expect(c.failure).toBe('connection status FAILED: bad key');
  });

  it('reads an initial --state file without re-encoding it', () => {
    const file =
      '[{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":{"c":1.50}}}, {"type":"STREAM","stream":{"stream_descriptor":{"name":"b","namespace":"n"},"stream_state":{}}}]';
    const r = resumeStateOf(file);
    expect(r.states.map(([k]) => k)).toEqual(['a', 'n\u0000b']);
    expect(stateFileText(r)).toBe(
      '[{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":{"c":1.50}}},{"type":"STREAM","stream":{"stream_descriptor":{"name":"b","namespace":"n"},"stream_state":{}}}]',
    );
    expect(stateFileText(resumeStateOf('{"cutoff": 10.0}\n'))).toBe('{"cutoff": 10.0}');
  });
});
