/**
 * The byte-level JSON scanner must agree with JSON.parse on everything it accepts, and must refuse everything
 * JSON.parse refuses (the decoder then takes the JSON.parse path, which produces the error).
 */
import { describe, expect, it } from 'vitest';
import { FlatJsonScanner, Slot } from '../../../../connectors/jsonl/flat-scanner.js';

const scanner = new FlatJsonScanner([
  ['x', 'float64'],
  ['s', 'string'],
  ['b', 'bool'],
]);

function scan(text: string) {
  const bytes = Buffer.from(text);
  const ok = scanner.scan(bytes, 0, bytes.length);
  return {
    ok,
    x: scanner.kind[0] === Slot.Number ? scanner.num[0] : scanner.kind[0] === Slot.Null ? null : undefined,
    s: scanner.kind[1] === Slot.Bytes ? bytes.toString('utf8', scanner.num[1], scanner.end[1]) : scanner.kind[1] === Slot.Null ? null : undefined,
    b: scanner.kind[2] === Slot.Bool ? scanner.end[2] === 1 : undefined,
  };
}

describe('FlatJsonScanner', () => {
  it('reads numbers exactly as JSON.parse does', () => {
    let seed = 1;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let i = 0; i < 50_000; i++) {
      const v = [rnd() * 1000, Math.round(rnd() * 1e6) / 100, -rnd(), rnd() * 1e-7, i, -i * 1.25, rnd() * 1e20, 123456789012345][i % 8]!;
      const text = JSON.stringify({ x: v });
      const r = scan(text);
      expect(r.ok).toBe(true);
      expect(r.x).toBe((JSON.parse(text) as { x: number }).x);
    }
  });

  it('reads strings, booleans, nulls and skips unwanted nested values', () => {
    expect(scan('{"s": "héllo wörld", "b": true, "x": null, "other": {"a": [1, {"b": "c"}], "d": []}}')).toEqual({
      ok: true,
      x: null,
      s: 'héllo wörld',
      b: true,
    });
    expect(scan('  { }  ')).toMatchObject({ ok: true, x: undefined });
    expect(scan('{"x": 1, "x": 2}')).toMatchObject({ ok: true, x: 2 }); // last duplicate wins, as in JSON.parse
  });

  it.each([
    '{"x": 01}',
    '{"x": 1.}',
    '{"x": +1}',
    '{"x": .5}',
    '{"x": 1e}',
    '{"x": 1,}',
    '{"x": 1',
    '{"x": 1} x',
    '{"x" 1}',
    '{"y": [1,,2], "x": 1}',
    '{"y": {"a":}, "x": 1}',
    '{"y": [1 2]}',
    '{"s": "a\tb"}',
    '{"y": nul}',
    '[1]',
    '',
    'null',
  ])('refuses what JSON.parse refuses or what it leaves to JSON.parse: %s', (text) => {
    let valid = true;
    try {
      const v = JSON.parse(text) as unknown;
      valid = typeof v === 'object' && v !== null && !Array.isArray(v);
    } catch {
      valid = false;
    }
    if (!valid) expect(scan(text).ok).toBe(false);
  });

  it('leaves escapes and type mismatches to the JSON.parse path', () => {
    expect(scan('{"s": "a\\"b"}').ok).toBe(false);
    expect(scan('{"s": 5}').ok).toBe(false);
    expect(scan('{"x": "5"}').ok).toBe(false);
    expect(scan('{"x": [5]}').ok).toBe(false);
  });
});
