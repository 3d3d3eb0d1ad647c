/**
 * Prompts of `llm_enrich`: templates over row fields, and several records per request with a results array.
 */
import { describe, expect, it } from 'vitest';
import { batchMessage, batchSchema } from '../../../../../operators/ai/llm/prompt.js';
import { recordsOf } from '../../../../../native-bench/llm-server.js';
import { compileTemplate, render, schemaOf } from '../../../../../engine/api.js';

describe('prompts', () => {
  const input = schemaOf({ subject: 'string', n: 'int64', meta: 'json' });
  it('templates insert fields, empty for null; unknown columns are plan errors', () => {
    const t = compileTemplate('{{ subject }} #{{n}} {{meta}}', input, ['prompt']);
    expect(t.fields).toEqual(['subject', 'n', 'meta']);
    expect(render(t, { subject: 'Hi', n: 3, meta: null })).toBe('Hi #3 ');
    expect(() => compileTemplate('{{body}}', input, ['prompt'])).toThrow(/unknown column `body`/);
  });
  it('several records per request: numbered sections and a results array of exactly n items', () => {
    const msg = batchMessage(['a\nb', 'c']);
    expect(recordsOf(msg)).toEqual(['a\nb', 'c']);
    expect(batchMessage(['only'])).toBe('only');
    const s = batchSchema({ type: 'object', properties: { p: { type: 'string' } } }, 3) as { properties: { results: { minItems: number; maxItems: number } } };
    expect([s.properties.results.minItems, s.properties.results.maxItems]).toEqual([3, 3]);
  });
});
