/**
 * pii_mask over a corpus of PII variants: nothing personal survives in the outputs or in the prompts the test LLM
 * server received, and look-alikes that are not PII (dates, times, order numbers, amounts, versions) are kept.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ibanValid, luhn, scrub, PII_KINDS } from '../../operators/ai/pii.js';
import { type LlmServer, startLlmServer } from '../../native-bench/llm-server.js';
import { runText } from '../kit/run.js';

const PII: Record<string, string[]> = {
  email: ['john.doe@example.com', 'JOHN_DOE+tag@Mail.Example.co.uk', 'jane (at) example (dot) org', 'jane[at]example[dot]com', 'x@y.io'],
  phone: ['+1 (415) 555-0132', '+44 20 7946 0958', '(030) 1234567', '415.555.0199', '+49-30-901820', '0171 2345678', '+33 1 42 68 53 00', '+14155550132'],
  card: ['4111 1111 1111 1111', '5500-0000-0000-0004', '340000000000009', '6011000000000004', '4012888888881881', '3530 1113 3330 0000'],
  iban: ['DE89 3704 0044 0532 0130 00', 'GB82WEST12345698765432', 'FR14 2004 1010 0505 0001 3M02 606', 'nl91abna0417164300'],
  national_id: ['123-45-6789', 'AB 12 34 56 C', 'JG103759A'],
  ip: ['192.168.1.20', '10.0.0.1', '2001:db8::8a2e:370:7334', 'fe80::1', '2001:0db8:85a3:0000:0000:8a2e:0370:7334'],
};
const KEEP = [
  'order 12345',
  'on 2024-01-05',
  'at 10:30',
  'at 12:30:45',
  'total 1234.56 EUR',
  'version 1.2.3',
  'HTTP 429',
  'error 500',
  'invoice INV-2024-0042',
  'ticket #884213',
];

const TEMPLATES = ['Contact me at {} please.', '{}', 'Details: {}. Thanks!', 'my number/card/address is ({}) as discussed'];
const corpus = Object.entries(PII).flatMap(([kind, values]) =>
  values.flatMap((v, i) => ({ kind, value: v, text: TEMPLATES[i % TEMPLATES.length]!.replace('{}', v) })),
);

/** Leaks of `v` in `text`: the value itself, or (for digit-based kinds) its digits with formatting removed. */
function leaks(text: string, v: string): boolean {
  if (text.toLowerCase().includes(v.toLowerCase())) return true;
  const d = v.replace(/\D/g, '');
  return d.length >= 7 && text.replace(/\D/g, '').includes(d);
}

describe('PII detectors', () => {
  it('checksums: Luhn and IBAN mod-97', () => {
    expect(luhn('4111111111111111')).toBe(true);
    expect(luhn('4111111111111112')).toBe(false);
    expect(ibanValid('DE89370400440532013000')).toBe(true);
    expect(ibanValid('DE89370400440532013001')).toBe(false);
  });
  it.each(corpus)('$kind: $value is masked', ({ kind, value, text }) => {
    const r = scrub(text, PII_KINDS, (k) => `[${k.toUpperCase()}]`);
    expect(r.found).toContain(kind);
    expect(leaks(r.text, value), r.text).toBe(false);
  });
  it.each(KEEP)('keeps non-PII: %s', (text) => {
    expect(scrub(text, PII_KINDS, () => '[X]').text).toBe(text);
  });
  it('numbers that fail their checksum are not cards or IBANs', () => {
    expect(scrub('ref 4111 1111 1111 1112', ['card'], () => '[CARD]').found).toEqual([]);
    expect(scrub('DE89 3704 0044 0532 0130 01', ['iban'], () => '[IBAN]').found).toEqual([]);
  });
});

let server: LlmServer | undefined;
afterAll(() => server?.close());

describe('pii_mask in a plan, before an LLM', () => {
  it('no PII in the outputs or in any prompt the LLM server received; hashes are deterministic per value', async () => {
    server = await startLlmServer({ answer: (p) => ({ summary: p.slice(0, 200) }) });
    process.env.OPENAI_API_KEY = 'test-key';
    process.env.TEST_PII_SALT = 'pepper';
    const dir = mkdtempSync(join(tmpdir(), 'abflow-pii-'));
    const rows = corpus.map((c, i) => ({ id: i + 1, note: c.text, contact: i % 3 === 0 ? 'John.Doe@Example.com' : 'john.doe@example.com' }));
    writeFileSync(join(dir, 'in.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const { rows: out } = await runText(`
name: pii
sources:
  - { id: notes, kind: jsonl, config: { path: ${join(dir, 'in.jsonl')} } }
operators:
  - id: masked
    kind: pii_mask
    inputs: [notes]
    config: { report: pii_found, saltEnv: TEST_PII_SALT, actions: { email: hash } }
  - id: summarised
    kind: llm_enrich
    inputs: [masked]
    config:
      model: m
      baseURL: ${server.url}
      prompt: "Summarise: {{note}} (contact {{contact}})"
      output: { type: object, properties: { summary: { type: string } }, required: [summary] }
      cache: false
sinks:
  - { id: result, kind: collect, inputs: [summarised] }
  - { id: dead, kind: collect, inputs: [summarised.dead_letter] }
`);
    const result = out.get('result')!;
    expect(out.get('dead')).toEqual([]);
    expect(result.length).toBe(corpus.length);
    const prompts = server.received.map((r) => r.user);
    // Masked texts that became identical share one request (llm_enrich sends each distinct prompt once per batch).
    expect(prompts.length).toBe(new Set(prompts).size);
    expect(prompts.length).toBeGreaterThan(15);
    for (const c of corpus) {
      for (const r of result) expect(leaks(JSON.stringify(r), c.value), `${c.value} in ${JSON.stringify(r)}`).toBe(false);
      for (const p of prompts) expect(leaks(p, c.value), `${c.value} in prompt ${p}`).toBe(false);
    }
    // The same address in two spellings hashes to one value (joins still work); masked kinds are reported per row.
    expect(new Set(result.map((r) => r.contact)).size).toBe(1);
    expect(String(result[0]!.contact)).toMatch(/^\[EMAIL:[0-9a-f]{16}\]$/);
    for (const [i, c] of corpus.entries()) expect(JSON.parse(String(result[i]!.pii_found))).toContain(c.kind);
  }, 60_000);
});
