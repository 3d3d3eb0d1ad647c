/**
 * Each built-in operator through a real plan (compiled, fused, run in the worker pool).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { abflow, HAS_SHARED, SHARED, tempDir } from '../kit/cli.js';
import { runText } from '../kit/run.js';

function plan(body: string, count = 2000): string {
  return `
name: ops
engine: { parallelism: 2, batchSize: 500 }
sources: [{ id: p, kind: generate, config: { generator: payments, count: ${count}, seed: 11 } }]
${body}`;
}

describe('operators', () => {
  it('select, rename and drop shape columns', async () => {
    const { rows } = await runText(
      plan(`
operators:
  - { id: s, kind: select, inputs: [p], config: { columns: [status, amount, payment_id] } }
  - { id: r, kind: rename, inputs: [s], config: { columns: { amount: amt } } }
  - { id: d, kind: drop, inputs: [r], config: { columns: [status] } }
sinks: [{ id: out, kind: collect, inputs: [d] }]`),
    );
    const out = rows.get('out')!;
    expect(out).toHaveLength(2000);
    expect(Object.keys(out[0]!)).toEqual(['amt', 'payment_id']);
    expect(out.map((r) => r.payment_id)).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
  });

  it('cast dead-letters values that do not convert, or nulls them', async () => {
    const { rows, result } = await runText(
      plan(`
operators:
  - { id: d, kind: derive, inputs: [p], config: { columns: { code: "CASE WHEN payment_id % 10 = 0 THEN 'x' ELSE string(payment_id) END" } } }
  - { id: strict, kind: cast, inputs: [d], config: { columns: { code: int64 } } }
  - { id: lenient, kind: cast, inputs: [d], config: { columns: { code: int64 }, onError: "null" } }
sinks:
  - { id: ok, kind: collect, inputs: [strict] }
  - { id: dead, kind: collect, inputs: [strict.dead_letter] }
  - { id: nulls, kind: collect, inputs: [lenient] }`),
    );
    expect(rows.get('ok')).toHaveLength(1800);
    expect(rows.get('ok')!.every((r) => typeof r.code === 'number')).toBe(true);
    const dead = rows.get('dead')!;
    expect(dead).toHaveLength(200);
    expect(dead[0]).toMatchObject({ node: 'strict', source: 'p', position: 10, reason: 'code: cannot cast "x" (string) to int64' });
    expect(rows.get('nulls')!.filter((r) => r.code === null)).toHaveLength(200);
    expect(result.nodes.find((n) => n.id === 'strict')).toMatchObject({ rowsIn: 2000, rowsOut: 1800, dead: 200 });
  });

  it('route sends every row to exactly one output, first match wins', async () => {
    const { rows, result } = await runText(
      plan(`
operators:
  - id: r
    kind: route
    inputs: [p]
    config:
      routes: { failed: "status = 'failed'", eur: "currency = 'EUR'" }
      default: rest
sinks:
  - { id: failed, kind: collect, inputs: [r.failed] }
  - { id: eur, kind: collect, inputs: [r.eur] }
  - { id: rest, kind: collect, inputs: [r.rest] }`),
    );
    const f = rows.get('failed')!;
    const e = rows.get('eur')!;
    const rest = rows.get('rest')!;
    expect(f.length + e.length + rest.length).toBe(2000);
    expect(f.every((r) => r.status === 'failed')).toBe(true);
    expect(e.every((r) => r.currency === 'EUR' && r.status !== 'failed')).toBe(true);
    expect(rest.every((r) => r.currency !== 'EUR' && r.status !== 'failed')).toBe(true);
    expect(result.nodes.find((n) => n.id === 'r')!.discarded).toBe(0);
  });

  it('union merges inputs and keeps each input in order', async () => {
    const { rows } = await runText(`
name: u
engine: { parallelism: 2, batchSize: 100 }
sources:
  - { id: a, kind: generate, config: { generator: payments, count: 700, seed: 1 } }
  - { id: b, kind: generate, config: { generator: payments, count: 300, seed: 2 } }
operators:
  - { id: all, kind: union, inputs: [a, b] }
sinks: [{ id: out, kind: collect, inputs: [all] }]`);
    const out = rows.get('out')!;
    expect(out).toHaveLength(1000);
    const ids = out.map((r) => r.payment_id as number);
    const firstB = ids.findIndex((id, k) => k > 0 && id <= ids[k - 1]!);
    expect(firstB).toBeGreaterThan(0); // two interleaved ascending runs, each complete
    expect(new Set(ids).size).toBe(700);
  });

  it('counts rows on unconnected outputs as discarded and warns at compile time', async () => {
    const { result, plan: compiled } = await runText(
      plan(`
operators:
  - { id: r, kind: route, inputs: [p], config: { routes: { failed: "status = 'failed'" } } }
sinks: [{ id: out, kind: collect, inputs: [r.failed] }]`),
    );
    expect(compiled.warnings).toEqual(['output `r.default` is not connected: its rows are counted as discarded']);
    const r = result.nodes.find((n) => n.id === 'r')!;
    expect(r.discarded + result.nodes.find((n) => n.id === 'out')!.rowsIn).toBe(2000);
  });

  it('reads JSON lines from stdin', () => {
    const cwd = tempDir();
    writeFileSync(
      join(cwd, 'plan.yaml'),
      `
name: stdin
sources: [{ id: in, kind: jsonl, config: { path: "-", schema: { id: int64, name: string } } }]
sinks: [{ id: out, kind: jsonl, inputs: [in], config: { path: out.jsonl } }]
`,
    );
    const r = abflow(['run', 'plan.yaml', '-q'], { cwd, input: '{"id": 1, "name": "a"}\n{"id": 2, "name": "b"}\nnot json\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(cwd, 'out.jsonl'), 'utf8')).toBe('{"id":1,"name":"a"}\n{"id":2,"name":"b"}\n');
    const dead = JSON.parse(readFileSync(join(cwd, 'out/stdin.dead_letter.jsonl'), 'utf8')) as { position: number; raw: string };
    expect(dead).toMatchObject({ position: 3, raw: 'not json', source: 'in' });
  });

  it.skipIf(!HAS_SHARED)("replays Airbyte's exchange_rate test messages with airbyte_file", async () => {
    const base = `${SHARED}/fixtures/airbyte/airbytehq-airbyte`;
    const { rows, result } = await runText(`
name: ab
sources:
  - id: src
    kind: airbyte_file
    config:
      path: ${base}/airbyte-cdk/java/airbyte-cdk/db-destinations/src/testFixtures/resources/v0/exchange_rate_messages.txt
      catalog: ${base}/airbyte-integrations/bases/standard-destination-test/src/main/resources/exchange_rate_catalog.json
sinks: [{ id: out, kind: collect, inputs: [src.exchange_rate] }]`);
    const out = rows.get('out')!;
    expect(out.length).toBeGreaterThan(0);
    expect(out[0]).toMatchObject({ currency: 'USD', NZD: 0.12, HKD: 2.13, _airbyte_extracted_at: new Date(1602637589000).toISOString() });
    expect(result.deadLetters).toBe(0);
  });
});
