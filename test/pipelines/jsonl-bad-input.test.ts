/**
 * Bad input never crashes a run and is never dropped silently: a JSONL file with 1 % malformed lines (truncated
 * JSON, wrong types, invalid UTF-8, a 5 MB line, non-objects) lands every good line and dead-letters every bad one
 * with its line number and a reason, and the counts reconcile: in = out + filtered + dead-lettered.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { abflow, tempDir } from '../kit/cli.js';

const LINES = 10_000;

interface BadLine {
  line: number;
  reason: RegExp;
}

function buildInput(): { bytes: Buffer; good: Map<number, number>; bad: BadLine[]; blank: number } {
  const parts: Buffer[] = [];
  const good = new Map<number, number>(); // id → amount
  const bad: BadLine[] = [];
  let blank = 0;
  const kinds: [RegExp, (id: number) => Buffer][] = [
    [/invalid JSON/, (id) => Buffer.from(`{"id": ${id}, "amount": 12.5, "customer": "c`)],
    [/field `amount`: expected a number/, (id) => Buffer.from(JSON.stringify({ id, amount: 'abc', customer: 'x', created_at: '2024-01-01T00:00:00Z' }))],
    [/invalid UTF-8/, (id) => Buffer.concat([Buffer.from(`{"id": ${id}, "amount": 1, "customer": "`), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')])],
    [/not a JSON object/, (id) => Buffer.from(`[${id}, 1]`)],
    [/field `id`: expected an integer/, () => Buffer.from('{"id": 1.5, "amount": 3}')],
    [/beyond ±2\^53/, () => Buffer.from('{"id": 123456789012345678901, "amount": 3}')],
    [/field `created_at`: expected an ISO 8601 timestamp/, (id) => Buffer.from(JSON.stringify({ id, amount: 5, created_at: 'yesterday' }))],
  ];
  for (let line = 1; line <= LINES; line++) {
    const id = line;
    if (line === 5000) {
      // A 5 MB line: longer than the 1 MiB default limit.
      parts.push(Buffer.from(JSON.stringify({ id, amount: 1, customer: 'x'.repeat(5 << 20) })));
      bad.push({ line, reason: /exceeds maxLineBytes/ });
    } else if (line % 100 === 37) {
      const [reason, make] = kinds[((line / 100) % kinds.length) | 0]!;
      parts.push(make(id));
      bad.push({ line, reason });
    } else if (line % 997 === 0) {
      parts.push(Buffer.from('   '));
      blank++;
    } else {
      const amount = (line * 7) % 50;
      good.set(id, amount);
      parts.push(
        Buffer.from(
          JSON.stringify({
            id,
            amount,
            customer: `c${line % 13}`,
            created_at: new Date(Date.UTC(2024, 0, 1) + line * 1000).toISOString(),
            extra: { ignored: true },
          }) + (line % 2 ? '\r' : ''),
        ),
      );
    }
    parts.push(Buffer.from('\n'));
  }
  return { bytes: Buffer.concat(parts), good, bad, blank };
}

const PLAN = `
name: jsonl_bad
engine: { parallelism: 2, batchSize: 1000 }
sources:
  - id: orders
    kind: jsonl
    config:
      path: input.jsonl
      schema: { id: int64, amount: float64, customer: string, created_at: timestamp }
operators:
  - id: big
    kind: filter
    inputs: [orders]
    config: { where: "amount >= 10" }
sinks:
  - { id: out, kind: jsonl, inputs: [big], config: { path: out/good.jsonl } }
  - { id: dlq, kind: jsonl, inputs: [orders.dead_letter], config: { path: out/dead.jsonl } }
`;

describe('JSONL with malformed lines', () => {
  it('lands every good line, dead-letters every bad one with its line number, and reconciles the counts', () => {
    const cwd = tempDir();
    const input = buildInput();
    writeFileSync(join(cwd, 'input.jsonl'), input.bytes);
    writeFileSync(join(cwd, 'plan.yaml'), PLAN);
    const r = abflow(['run', 'plan.yaml', '--summary-json', 'summary.json'], { cwd });
    expect(r.code, r.stderr).toBe(0);

    const rows = readFileSync(join(cwd, 'out/good.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: number; amount: number });
    const expected = [...input.good].filter(([, amount]) => amount >= 10).map(([id]) => id);
    expect(rows.map((r) => r.id)).toEqual(expected); // all of them, in input order

    const dead = readFileSync(join(cwd, 'out/dead.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { position: number; reason: string; node: string; source: string; raw: string });
    expect(dead.map((d) => d.position)).toEqual(input.bad.map((b) => b.line));
    dead.forEach((d, k) => {
      expect(d.reason).toMatch(input.bad[k]!.reason);
      expect(d.source).toBe('orders');
      expect(d.raw.length).toBeLessThan(4096 + 10); // the 5 MB line is kept as a prefix, not whole
    });

    const summary = JSON.parse(readFileSync(join(cwd, 'summary.json'), 'utf8')) as { nodes: { id: string; rowsIn: number; rowsOut: number; dead: number }[] };
    const node = (id: string) => summary.nodes.find((n) => n.id === id)!;
    const linesIn = node('orders').rowsIn; // the decoder's input: every line read
    expect(linesIn).toBe(LINES);
    const filteredByFilter = node('big').rowsIn - node('big').rowsOut;
    const filteredBlank = node('orders').rowsIn - node('orders').rowsOut - node('orders').dead;
    expect(filteredBlank).toBe(input.blank);
    expect(node('out').rowsIn + filteredByFilter + filteredBlank + node('dlq').rowsIn).toBe(LINES);
  });
});
