/**
 * quality_gate on Airbyte source-faker's own records (acceptance: the natural defects are quarantined with the right
 * codes, the rest lands, counts reconcile), plus each rule kind, drift, monitor mode and stream monitors; dedupe.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { abflow, HAS_SHARED, ROOT, SHARED, tempDir } from '../kit/cli.js';
import { query } from '../kit/duckdb.js';
import { runText } from '../kit/run.js';

const FAKER = join(SHARED, 'fixtures/airbyte/airbytehq-airbyte/airbyte-integrations/connectors/source-faker/integration_tests/expected_records.jsonl');

describe.skipIf(!HAS_SHARED)('plans/quality-gate.yaml on source-faker records', () => {
  it('quarantines the natural defects with their codes; everything else lands typed; counts reconcile', async () => {
    const cwd = tempDir('abflow-gate-');
    const plan = readFileSync(join(ROOT, 'plans/quality-gate.yaml'), 'utf8').replace(/path: \.\.\/shared\/\S+/, `path: ${FAKER}`);
    writeFileSync(join(cwd, 'plan.yaml'), plan);
    const r = abflow(['run', 'plan.yaml', '-q'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    const db = join(cwd, 'out/quality.duckdb');
    const input = readFileSync(FAKER, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { stream: string; data: Record<string, unknown> });
    const q = await query(
      db,
      `SELECT stream, _dq_reason AS code, json_extract(data, '$.id')::INT AS id, _dq_reasons::VARCHAR AS reasons FROM quarantine ORDER BY stream, id`,
    );
    // The defects, found independently of the gate: U+2212 minus signs in blood types, a space for the T in created_at.
    const expected = input
      .filter((r) => (r.stream === 'users' && String(r.data.blood_type).includes('\u2212')) || (r.stream === 'products' && / /.test(String(r.data.created_at))))
      .map((r) => ({ stream: r.stream, code: r.stream === 'users' ? 'not_in_enum' : 'bad_timestamp_format', id: r.data.id }))
      .sort((a, b) => a.stream.localeCompare(b.stream) || Number(a.id) - Number(b.id));
    expect(expected.length).toBe(6);
    expect(q.map(({ stream, code, id }) => ({ stream, code, id }))).toEqual(expected);
    for (const row of q)
      expect(JSON.parse(String(row.reasons))[0].message).toMatch(
        row.code === 'not_in_enum' ? /blood_type = ".*\u2212" is not one of/ : /created_at = ".* .*" does not match/,
      );
    const counts = Object.fromEntries(
      (
        await query(
          db,
          `SELECT 'users' AS t, count(*)::INT AS n FROM users UNION ALL SELECT 'products', count(*)::INT FROM products UNION ALL SELECT 'purchases', count(*)::INT FROM purchases UNION ALL SELECT 'quarantine', count(*)::INT FROM quarantine UNION ALL SELECT 'unknown', count(*)::INT FROM unknown_streams`,
        )
      ).map((x) => [x.t, x.n]),
    );
    const per = (s: string) => input.filter((r) => r.stream === s).length;
    expect(counts).toEqual({ users: per('users') - 4, products: per('products') - 2, purchases: per('purchases'), quarantine: 6, unknown: 0 });
    expect(counts.users! + counts.products! + counts.purchases! + counts.quarantine!).toBe(input.length);
    // Clean rows are typed columns, not JSON.
    const [u] = await query(db, `SELECT typeof(created_at) AS t, typeof(age) AS a FROM users LIMIT 1`);
    expect(u).toEqual({ t: 'TIMESTAMP WITH TIME ZONE', a: 'BIGINT' });
  }, 60_000);
});

function jsonl(rows: Record<string, unknown>[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'abflow-gate-'));
  writeFileSync(join(dir, 'in.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return join(dir, 'in.jsonl');
}

const run = (input: string, schema: string, gate: string) =>
  runText(`
name: gate
sources:
  - { id: in, kind: jsonl, config: { path: ${input}, schema: ${schema} } }
operators:
  - id: gate
    kind: quality_gate
    inputs: [in]
    config:
${gate.replace(/^/gm, '      ')}
sinks:
  - { id: out, kind: collect, inputs: [gate] }
  - { id: quarantine, kind: collect, inputs: [gate.quarantine] }
  - { id: events, kind: collect, inputs: [gate.events] }
`);

describe('quality_gate rules', () => {
  it('not-null, range, regex, enum, uniqueness, freshness and outliers, each with its code; all reasons listed', async () => {
    const now = Date.now();
    const rows = Array.from({ length: 60 }, (_, i) => ({ id: i, amount: 100 + (i % 7), code: 'AB-1', kind: 'a', ts: new Date(now - 1000).toISOString() }));
    rows.push({ id: 60, amount: 100, code: 'bad', kind: 'z', ts: new Date(now - 3_600_000).toISOString() });
    rows.push({ id: 5, amount: 99_999, code: 'AB-2', kind: 'a', ts: new Date(now).toISOString() });
    rows.push({ id: null as unknown as number, amount: -5, code: 'AB-3', kind: 'a', ts: new Date(now).toISOString() });
    const { rows: out } = await run(
      jsonl(rows),
      '{ id: int64, amount: float64, code: string, kind: string, ts: timestamp }',
      `rules:
  - { column: id, notNull: true }
  - { column: id, unique: { within: 1h } }
  - { column: amount, range: { min: 0 } }
  - { column: amount, outlier: { zScore: 6 } }
  - { column: code, regex: '^AB-\\d+$' }
  - { column: kind, enum: [a, b] }
  - { column: ts, freshness: { maxLag: 10m } }`,
    );
    const q = out.get('quarantine')!;
    const codes = q.map((r) => JSON.parse(String(r._dq_reasons)).map((v: { code: string }) => v.code));
    expect(codes).toEqual([
      ['pattern_mismatch', 'not_in_enum', 'stale'],
      ['duplicate', 'outlier'],
      ['not_null', 'out_of_range', 'outlier'],
    ]);
    expect(q.map((r) => r._dq_reason)).toEqual(['pattern_mismatch', 'duplicate', 'not_null']);
    expect(out.get('out')!.length + q.length).toBe(rows.length);
  });

  it('record drift against the declared schema: new fields reported once as events, missing and retyped fields quarantined', async () => {
    const input = jsonl([
      { data: { id: 1, name: 'a' } },
      { data: { id: 2, name: 'b', extra: 1 } },
      { data: { id: 3, name: 'c', extra: 2 } },
      { data: { id: 'four', name: 'd' } },
      { data: { name: 'e' } },
    ]);
    const { rows: out } = await run(input, '{ data: json }', 'record: data\nschema: { id: int64, name: string }');
    expect(out.get('out')!.map((r) => [r.id, r.name])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ]);
    expect(out.get('quarantine')!.map((r) => r._dq_reason)).toEqual(['type_mismatch', 'missing_field']);
    expect(out.get('events')!.map((e) => [e.code, e.column])).toEqual([['new_field', 'extra']]);
  });

  it('monitor mode passes every record and still reports; typed-stream drift is an event at the start', async () => {
    const input = jsonl([
      { id: 1, v: null },
      { id: 2, v: null },
      { id: 3, v: 1 },
    ]);
    const { rows: out } = await run(
      input,
      '{ id: int64, v: float64 }',
      `mode: monitor\nschema: { id: int64, v: string }\nrules:\n  - { column: v, notNull: true }\nmonitors:\n  window: 1h\n  nullRate: { v: 0.5 }\n  volume: { min: 10 }`,
    );
    expect(out.get('out')!.length).toBe(3);
    expect(out.get('quarantine')!.length).toBe(2);
    expect(out.get('events')!.map((e) => e.code)).toEqual(['type_mismatch', 'null_rate', 'volume_low']);
  });

  it('rejects rules on unknown columns and rules with two checks, at their place in the plan', async () => {
    await expect(run(jsonl([{ a: 1 }]), '{ a: int64 }', 'rules:\n  - { column: b, notNull: true }')).rejects.toThrow(/unknown column `b`/);
    await expect(run(jsonl([{ a: 1 }]), '{ a: int64 }', "rules:\n  - { column: a, notNull: true, regex: 'x' }")).rejects.toThrow(/exactly one check/);
  });
});

describe('dedupe', () => {
  it('drops repeats of a key within the TTL (event time), sending them to duplicates', async () => {
    const t = (s: number) => new Date(Date.UTC(2024, 0, 1, 0, 0, s)).toISOString();
    const input = jsonl([
      { k: 'a', ts: t(0) },
      { k: 'b', ts: t(1) },
      { k: 'a', ts: t(5) },
      { k: 'a', ts: t(20) },
      { k: 'b', ts: t(2) },
    ]);
    const { rows: out } = await runText(`
name: dd
sources:
  - { id: in, kind: jsonl, config: { path: ${input}, schema: { k: string, ts: timestamp } } }
operators:
  - { id: d, kind: dedupe, inputs: [in], config: { key: [k], ttl: 10s, timeColumn: ts } }
sinks:
  - { id: out, kind: collect, inputs: [d] }
  - { id: dup, kind: collect, inputs: [d.duplicates] }
`);
    expect(
      out
        .get('out')!
        .map((r) => r.k + '@' + String(r.ts).slice(17, 19))
        .sort(),
    ).toEqual(['a@00', 'a@20', 'b@01']);
    expect(out.get('dup')!.length).toBe(2);
  });
});
