/**
 * Input edge cases that once lost data quietly (issue "hardening", item 7): a byte order mark before the first
 * record, a number beyond float64, a column whose values disagree in the lines schema inference reads, and a run
 * that dead-letters most of its input.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { abflow, tempDir } from '../kit/cli.js';

function run(lines: string | Buffer, opts: { schema?: string; engine?: string } = {}) {
  const dir = tempDir();
  const input = join(dir, 'in.jsonl');
  writeFileSync(input, lines);
  const plan = join(dir, 'plan.yaml');
  writeFileSync(
    plan,
    `name: edges\nengine: { deadLetters: ${dir}/dead.jsonl${opts.engine ? `, ${opts.engine}` : ''} }\nsources:\n  - { id: src, kind: jsonl, config: { path: ${input}${opts.schema ? `, schema: ${opts.schema}` : ''} } }\nsinks:\n  - { id: out, kind: jsonl, inputs: [src], config: { path: ${dir}/out.jsonl } }\n`,
  );
  const r = abflow(['run', plan, '-q']);
  const read = (f: string) => {
    try {
      return readFileSync(join(dir, f), 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    } catch {
      return [];
    }
  };
  return { r, out: read('out.jsonl'), dead: read('dead.jsonl') };
}

describe('jsonl input edges', () => {
  it('a UTF-8 byte order mark before the first line is not part of its record', () => {
    const { r, out, dead } = run(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"id":1}\n{"id":2}\n')]), { schema: '{ id: int64 }' });
    expect(r.code, r.stderr).toBe(0);
    expect(out).toEqual([{ id: 1 }, { id: 2 }]);
    expect(dead).toEqual([]);
    const inferred = run(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"id":1}\n')]));
    expect(inferred.out).toEqual([{ id: 1 }]);
  });

  it('a number beyond float64 is a dead letter with its reason, not a NULL', () => {
    const { r, out, dead } = run('{"x":1.5}\n{"x":1e400}\n{"x":-1e999}\n', { schema: '{ x: float64 }' });
    expect(r.code, r.stderr).toBe(0);
    expect(out).toEqual([{ x: 1.5 }]);
    expect(dead.map((d) => [d.position, d.reason])).toEqual([
      [2, 'field `x`: a number beyond float64 (read as Infinity)'],
      [3, 'field `x`: a number beyond float64 (read as -Infinity)'],
    ]);
  });

  it('inference widens a column whose values disagree, as DuckDB does, and loses no line', () => {
    const lines = Array.from({ length: 45 }, (_, i) => JSON.stringify({ id: i, amount: i === 30 ? '12.5' : i * 2, n: i === 40 ? 0.5 : i }));
    const { r, out, dead } = run(lines.join('\n') + '\n');
    expect(r.code, r.stderr).toBe(0);
    expect(dead).toEqual([]);
    expect(out).toHaveLength(45);
    expect(out[30]).toEqual({ id: 30, amount: '12.5', n: 30 });
    expect(out[2]).toEqual({ id: 2, amount: '4', n: 2 }); // text column: the number's JSON text
    expect(out[40]!.n).toBe(0.5);
  });

  it('engine.maxDeadLetterRatio fails a run whose dead letters exceed it, loudly', () => {
    const lines = Array.from({ length: 45 }, (_, i) => (i < 2 ? `{"id":${i}}` : `{"id":"x${i}"}`));
    const lenient = run(lines.join('\n') + '\n', { schema: '{ id: int64 }' });
    expect(lenient.r.code).toBe(0); // off by default
    const strict = run(lines.join('\n') + '\n', { schema: '{ id: int64 }', engine: 'maxDeadLetterRatio: 0.1' });
    expect(strict.r.code).toBe(1);
    expect(strict.r.stderr).toMatch(/43 of 45 rows read became dead letters \(95\.6 %\), more than engine\.maxDeadLetterRatio 0\.1/);
  });
});
