/**
 * `abflow airbyte write` against Airbyte's own destination test material (shared/fixtures/airbyte), judged the way
 * Airbyte's DestinationAcceptanceTest judges a destination in strict mode: every STATE comes back, in order, with
 * `destinationStats.recordCount` equal to the messages since the previous STATE; and every record lands in DuckDB
 * with its catalog types and Airbyte's meta columns.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { abflow, HAS_SHARED, ROOT, tempDir } from '../kit/cli.js';
import { query } from '../kit/duckdb.js';
import { AIRBYTE_FIXTURES, CDK, DEV_NULL, STD } from './recordings.js';

interface Stream {
  name: string;
  namespace?: string;
  json_schema: { properties?: Record<string, unknown> };
}

function streamsOf(catalogPath: string): Stream[] {
  const doc = JSON.parse(readFileSync(catalogPath, 'utf8')) as { streams: ({ stream: Stream } | Stream)[] };
  return doc.streams.map((s) => ('stream' in s ? s.stream : s));
}

/** What Airbyte's strict state check expects: each input STATE, with the count of messages since the previous one,
 * and of those the ones rejected (the dead letters' line numbers, `rejected`). */
function expectedStates(lines: string[], rejected: readonly number[] = []): { state: unknown; count: number; rejected: number }[] {
  const out: { state: unknown; count: number; rejected: number }[] = [];
  let since = 0;
  let bad = 0;
  for (const [i, line] of lines.entries()) {
    if (rejected.includes(i + 1)) bad++;
    if (!line.trim()) continue;
    let msg = null as { type?: string; state?: unknown } | null;
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      // a malformed line still counts as a message received
    }
    if (msg?.type === 'STATE') {
      out.push({ state: msg.state, count: since, rejected: bad });
      since = 0;
      bad = 0;
    } else if (msg?.type !== 'TRACE') since++;
  }
  return out;
}

function writeSync(messages: string, catalog: string, dir: string) {
  const db = join(dir, 'out.duckdb');
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ destination_path: db }));
  const input = readFileSync(messages, 'utf8');
  const r = abflow(['airbyte', 'write', '--config', join(dir, 'config.json'), '--catalog', catalog], { input });
  const out = r.stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { type: string; state?: { destinationStats?: { recordCount: number } } });
  return { r, db, input, out };
}

describe('abflow airbyte write (Airbyte destination acceptance, strict)', () => {
  for (const [name, messages, catalog] of AIRBYTE_FIXTURES) {
    it.skipIf(!HAS_SHARED)(`${name}: every STATE back in order with its record count; every record in DuckDB with meta columns`, async () => {
      const dir = tempDir();
      const { r, db, input, out } = writeSync(messages, catalog, dir);
      expect(r.code, r.stderr).toBe(0);
      const lines = input.split('\n');
      const states = out.filter((m) => m.type === 'STATE');
      const deadFile = `${db}.dead_letters.jsonl`;
      const dead = existsSync(deadFile)
        ? readFileSync(deadFile, 'utf8')
            .trim()
            .split('\n')
            .map((l) => (JSON.parse(l) as { position: number }).position)
        : [];
      const expected = expectedStates(lines, dead);
      expect(states.length).toBe(expected.length);
      states.forEach((s, i) => {
        const { destinationStats, ...rest } = s.state!;
        expect(rest).toEqual(expected[i]!.state);
        expect(destinationStats).toEqual({ recordCount: expected[i]!.count, ...(expected[i]!.rejected ? { rejectedRecordCount: expected[i]!.rejected } : {}) });
      });
      // Each stream's table holds its valid records, typed; malformed lines are dead letters, never lost.
      const records = lines
        .filter((l) => l.includes('"RECORD"'))
        .map((l) => {
          try {
            return JSON.parse(l) as { record: { stream: string; namespace?: string } };
          } catch {
            return null;
          }
        });
      const malformed = records.filter((x) => x === null).length;
      for (const s of streamsOf(catalog)) {
        const table = s.namespace ? `"${s.namespace}"."${s.name.replace(/"/g, '""')}"` : `"${s.name.replace(/"/g, '""')}"`;
        const rows = await query(db, `SELECT count(*)::INT AS n FROM ${table}`);
        const sent = records.filter((x) => x && x.record.stream === s.name && (x.record.namespace ?? undefined) === (s.namespace ?? undefined)).length;
        expect(rows[0]!.n, `${s.name}`).toBe(sent);
        const cols = (await query(db, `DESCRIBE ${table}`)).map((c) => [c.column_name, c.column_type]);
        expect(cols.slice(-4)).toEqual([
          ['_airbyte_raw_id', 'VARCHAR'],
          ['_airbyte_extracted_at', 'TIMESTAMP WITH TIME ZONE'],
          ['_airbyte_meta', 'JSON'],
          ['_airbyte_generation_id', 'BIGINT'],
        ]);
      }
      if (malformed) {
        expect(out.filter((m) => m.type === 'TRACE').length).toBe(malformed);
        expect(readFileSync(`${db}.dead_letters.jsonl`, 'utf8').trim().split('\n').length).toBe(malformed);
      }
    });
  }

  it.skipIf(!HAS_SHARED)('types values as Airbyte destinations do: exact big numbers, far dates, zones, NULLED changes', async () => {
    const dir = tempDir();
    const { r, db } = writeSync(`${CDK}/v0/data_type_basic_test_messages.txt`, `${CDK}/v0/data_type_basic_test_catalog.json`, dir);
    expect(r.code, r.stderr).toBe(0);
    const big = await query(db, `SELECT data FROM bignumber_test_1 ORDER BY _airbyte_extracted_at`);
    const sent = /"data" : "(\d{500,}\.\d+)"/.exec(readFileSync(`${CDK}/v0/data_type_basic_test_messages.txt`, 'utf8'))![1];
    expect(big[0]!.data).toBe(sent); // every digit of the 506-digit decimal
    expect(big.map((x) => x.data).slice(1)).toEqual(['0', '-12345.678']);
    const dates = await query(db, `SELECT data::VARCHAR AS d FROM date_test_1 ORDER BY _airbyte_extracted_at`);
    expect(dates.map((x) => x.d)).toEqual(['2021-01-23', '1504-02-29', '9999-12-23']);
    const ts = await query(db, `SELECT epoch_ms(data)::BIGINT AS ms FROM datetime_test_1 ORDER BY _airbyte_extracted_at`);
    expect(Number(ts[0]!.ms)).toBe(Date.parse('2022-11-22T01:23:45+05:00'));

    const gen = tempDir();
    const g = writeSync(`${CDK}/v0/users_with_generation_id_messages.txt`, `${CDK}/v0/users_with_generation_id_configured_catalog.json`, gen);
    const users = await query(g.db, `SELECT id, name, _airbyte_meta::VARCHAR AS meta, _airbyte_generation_id AS gen FROM users ORDER BY _airbyte_extracted_at`);
    expect(users.map((u) => [u.id, u.name, u.gen])).toEqual([
      ['1', 'Fred', '10'],
      [null, 'George', '10'],
      ['3', 'Harry', '10'],
    ]);
    expect(JSON.parse(users[1]!.meta as string).changes).toEqual([{ field: 'id', change: 'NULLED', reason: 'DESTINATION_SERIALIZATION_ERROR' }]);
    expect(JSON.parse(users[2]!.meta as string).changes).toEqual([{ field: 'name', change: 'TRUNCATED', reason: 'SOURCE_FIELD_SIZE_LIMITATION' }]);
  });

  it.skipIf(!HAS_SHARED)(
    'a refresh (minimum_generation_id = generation_id) keeps only the new generation; overwrite without generations replaces',
    async () => {
      const dir = tempDir();
      const catalog = join(dir, 'catalog.json');
      const messages = `${DEV_NULL}/test-data.jsonl`;
      const base = JSON.parse(readFileSync(`${DEV_NULL}/test-catalog.json`, 'utf8')) as { streams: Record<string, unknown>[] };
      const withGen = (gen: number, min: number, mode = 'append') =>
        writeFileSync(
          catalog,
          JSON.stringify({ streams: [{ ...base.streams[0], destination_sync_mode: mode, generation_id: gen, minimum_generation_id: min }] }),
        );
      withGen(1, 0);
      expect(writeSync(messages, catalog, dir).r.code).toBe(0);
      withGen(2, 0); // append: generations accumulate
      const second = writeSync(messages, catalog, dir);
      expect(await query(second.db, 'SELECT _airbyte_generation_id AS g, count(*)::INT AS n FROM johnny.users GROUP BY 1 ORDER BY 1')).toEqual([
        { g: '1', n: 3 },
        { g: '2', n: 3 },
      ]);
      withGen(3, 3); // refresh: older generations go once the sync succeeds
      const third = writeSync(messages, catalog, dir);
      expect(await query(third.db, 'SELECT _airbyte_generation_id AS g, count(*)::INT AS n FROM johnny.users GROUP BY 1')).toEqual([{ g: '3', n: 3 }]);
    },
  );

  it('spec and check speak the protocol', () => {
    const spec = JSON.parse(abflow(['airbyte', 'spec']).stdout) as { type: string; spec: { connectionSpecification: { properties: Record<string, unknown> } } };
    expect(spec.type).toBe('SPEC');
    expect(Object.keys(spec.spec.connectionSpecification.properties)).toContain('plan');
    const dir = tempDir();
    writeFileSync(join(dir, 'good.json'), JSON.stringify({ destination_path: join(dir, 'x.duckdb') }));
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ destination_path: join(dir, 'x.duckdb'), tabel: 1 }));
    expect(JSON.parse(abflow(['airbyte', 'check', '--config', join(dir, 'good.json')]).stdout).connectionStatus.status).toBe('SUCCEEDED');
    const bad = JSON.parse(abflow(['airbyte', 'check', '--config', join(dir, 'bad.json')]).stdout);
    expect(bad.connectionStatus).toMatchObject({ status: 'FAILED' });
    expect(bad.connectionStatus.message).toContain('tabel');
  });

  it('bad input becomes dead letters with reasons and TRACE errors; the sync goes on and the counts reconcile', async () => {
    const dir = tempDir();
    const catalog = join(dir, 'catalog.json');
    writeFileSync(
      catalog,
      JSON.stringify({ streams: [{ stream: { name: 'users', json_schema: { properties: { id: { type: 'integer' } } } }, destination_sync_mode: 'append' }] }),
    );
    const rec = (data: string, stream = 'users') => `{"type":"RECORD","record":{"stream":"${stream}","data":${data},"emitted_at":1}}`;
    const lines = [
      rec('{"id":1}'),
      'not json at all',
      rec('{"id":2}', 'nope'),
      '{"type":"RECORD","record":{"data":{"id":3},"emitted_at":1}}',
      rec(`{"id":4,"pad":"${'x'.repeat(17 << 20)}"}`),
      '{"type":"HELLO"}',
      rec('{"id":"five"}'),
      '{"type":"STATE","state":{"type":"LEGACY","data":{"n":1}}}',
    ];
    const messages = join(dir, 'messages.jsonl');
    writeFileSync(messages, lines.join('\n') + '\n');
    const { r, db, out } = writeSync(messages, catalog, dir);
    expect(r.code, r.stderr).toBe(0);
    // Seven messages received, five of them rejected: each rejection is a TRACE error naming its line.
    expect(out.filter((m) => m.type === 'STATE').map((m) => m.state!.destinationStats)).toEqual([{ recordCount: 7, rejectedRecordCount: 5 }]);
    const traces = out.filter((m) => m.type === 'TRACE').map((m) => (m as unknown as { trace: { error: { message: string } } }).trace.error.message);
    expect(traces.map((t) => Number(/^line (\d+) was rejected/.exec(t)?.[1]))).toEqual([2, 3, 4, 5, 6]);
    expect(await query(db, 'SELECT id FROM users ORDER BY id NULLS LAST')).toEqual([{ id: '1' }, { id: null }]);
    const dead = readFileSync(`${db}.dead_letters.jsonl`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { position: number; reason: string });
    expect(dead.map((d) => d.position)).toEqual([2, 3, 4, 5, 6]);
    const reasons = dead.map((d) => d.reason);
    expect(reasons[0]).toMatch(/^invalid JSON: /);
    expect(reasons[1]).toBe('stream `nope` is not in the catalog');
    expect(reasons[2]).toBe('RECORD message: record.stream: expected a string');
    expect(reasons[3]).toBe(`message of ${lines[4]!.length} bytes exceeds maxLineBytes (16777216)`);
    expect(reasons[4]).toBe('not an AirbyteMessage: "type" is "HELLO"');
  });

  it.skipIf(!HAS_SHARED)('runs the plan the config names: inline plan_yaml with enrichment; a plan writing to stdout is refused', async () => {
    const dir = tempDir();
    const db = join(dir, 'enriched.duckdb');
    const plan = `name: enrich_dest
sources:
  - { id: sync, kind: airbyte_file, config: { path: "-", catalog: unused.json } }
operators:
  - id: usd
    kind: derive
    inputs: [sync.exchange_rate]
    config: { columns: { hkd_per_nzd: "round(HKD / NZD, 3)" } }
sinks:
  - { id: rates, kind: duckdb, inputs: [usd], config: { path: ${db}, table: rates, mode: append } }
`;
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ plan_yaml: plan }));
    const input = readFileSync(`${CDK}/v0/exchange_rate_messages.txt`, 'utf8');
    const r = abflow(['airbyte', 'write', '--config', join(dir, 'config.json'), '--catalog', `${STD}/exchange_rate_catalog.json`], { input });
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; state: { destinationStats: unknown } });
    expect(out.map((m) => m.state.destinationStats)).toEqual([{ recordCount: 1 }, { recordCount: 1 }, { recordCount: 3 }]);
    expect(await query(db, 'SELECT count(*)::INT AS n, min(hkd_per_nzd) AS lo FROM rates')).toEqual([{ n: 5, lo: 6.272 }]);

    writeFileSync(join(dir, 'stdout.json'), JSON.stringify({ plan: join(ROOT, 'plans/airbyte/enrich-passthrough.yaml') }));
    const refused = abflow(['airbyte', 'write', '--config', join(dir, 'stdout.json'), '--catalog', join(ROOT, 'plans/airbyte/orders.catalog.json')], {
      input: '',
    });
    expect(refused.code).toBe(1);
    const trace = JSON.parse(refused.stdout) as { trace: { error: { message: string; failure_type: string } } };
    expect(trace.trace.error.failure_type).toBe('config_error');
    expect(trace.trace.error.message).toContain('sink `destination` (airbyte_destination) writes to stdout');
  });
});
