/**
 * Regular expressions from plans cannot stall a job (issue "hardening", item 2): they run on RE2's linear-time
 * engine, so the classic catastrophic patterns over hostile input finish like any other; a pattern RE2 cannot run
 * (backreferences, lookaround) is a plan error at its file:line:column. Without RE2, the first `^(a+)+$` row below
 * pins a worker for hours and the test times out. `pii_mask`'s own patterns (not from plans) scan hostile text in
 * linear time too.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { abflow, tempDir } from '../kit/cli.js';

const HOSTILE = ['a'.repeat(40) + '!', 'a'.repeat(5000) + '!', `${'ab'.repeat(3000)}c`, `${'x'.repeat(30)}@${'a.'.repeat(2000)}`];
const CORPUS = [
  '^(a+)+$',
  '(a|a)+$',
  '(a|aa)+$',
  '^(a|a?)+$',
  '(.*a){20}',
  '^(ab|a)*c?$',
  '^(\\w+\\s?)*$',
  '^([a-zA-Z0-9])(([\\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$',
];

describe('regular expressions in plans', () => {
  it('run in linear time in filter and quality_gate over hostile input', () => {
    const dir = tempDir();
    const input = join(dir, 'in.jsonl');
    writeFileSync(input, HOSTILE.map((s, i) => JSON.stringify({ id: i, s })).join('\n') + '\n');
    const q = (p: string) => JSON.stringify(p);
    const plan = join(dir, 'plan.yaml');
    writeFileSync(
      plan,
      `name: redos
engine: { deadLetters: ${dir}/dead.jsonl }
sources:
  - { id: src, kind: jsonl, config: { path: ${input}, schema: { id: int64, s: string } } }
operators:
  - id: flags
    kind: derive
    inputs: [src]
    config:
      columns:
${CORPUS.map((p, i) => `        m${i}: ${q(`regexp_matches(s, ${`'${p.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`})`)}`).join('\n')}
  - { id: kept, kind: filter, inputs: [flags], config: { where: ${q("NOT regexp_matches(s, '^(a+)+$')")} } }
  - id: gate
    kind: quality_gate
    inputs: [kept]
    config:
      rules:
${CORPUS.map((p) => `        - { column: s, regex: ${q(p)} }`).join('\n')}
sinks:
  - { id: out, kind: jsonl, inputs: [gate.out], config: { path: ${dir}/out.jsonl } }
  - { id: bad, kind: jsonl, inputs: [gate.quarantine], config: { path: ${dir}/bad.jsonl } }
`,
    );
    const r = abflow(['run', plan, '-q']);
    expect(r.code, r.stderr).toBe(0);
    // None of the hostile strings matches any of these patterns: all pass the filter and fail the gate.
    const bad = readFileSync(join(dir, 'bad.jsonl'), 'utf8').trim().split('\n');
    expect(bad).toHaveLength(HOSTILE.length);
  });

  it('pii_mask scans hostile text in linear time', () => {
    // Long runs of characters its patterns accept, with no match at the end: its e-mail pattern used to scan such a
    // run once from each position (50 kB of digits took 4 s; the 400 kB here would have taken minutes).
    const dir = tempDir();
    const input = join(dir, 'in.jsonl');
    const rows = [
      'a'.repeat(400_000) + '@',
      '1'.repeat(400_000),
      'a.'.repeat(200_000) + '@x',
      '12-'.repeat(130_000),
      `${'1 '.repeat(200_000)}x`,
      'jane.doe@example.com and +44 20 7946 0958',
    ];
    writeFileSync(input, rows.map((s, i) => JSON.stringify({ id: i, s })).join('\n') + '\n');
    const plan = join(dir, 'plan.yaml');
    writeFileSync(
      plan,
      `name: pii_redos\nsources:\n  - { id: src, kind: jsonl, config: { path: ${input}, maxLineBytes: 2000000, schema: { id: int64, s: string } } }\noperators:\n  - { id: mask, kind: pii_mask, inputs: [src], config: { columns: [s] } }\nsinks:\n  - { id: out, kind: jsonl, inputs: [mask], config: { path: ${dir}/out.jsonl } }\n`,
    );
    const r = abflow(['run', plan, '-q']);
    expect(r.code, r.stderr).toBe(0);
    const out = readFileSync(join(dir, 'out.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { s: string });
    expect(out).toHaveLength(rows.length);
    expect(out[5]!.s).toBe('[EMAIL] and [PHONE]');
  });

  it('a pattern RE2 cannot run is a plan error at its file:line:column', () => {
    const dir = tempDir();
    const plan = join(dir, 'plan.yaml');
    writeFileSync(
      plan,
      `name: lookaround\nsources:\n  - { id: src, kind: generate, config: { generator: payments, count: 1 } }\noperators:\n  - { id: f, kind: filter, inputs: [src], config: { where: "regexp_matches(status, '(?<=a)b')" } }\n  - id: g\n    kind: quality_gate\n    inputs: [src]\n    config:\n      rules:\n        - { column: status, regex: '(a)\\1' }\nsinks:\n  - { id: out, kind: blackhole, inputs: [g.out] }\n  - { id: out2, kind: blackhole, inputs: [f] }\n`,
    );
    const r = abflow(['validate', plan]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/plan\.yaml:5:\d+: .*invalid regular expression: .*\(patterns run on RE2/);
    expect(r.stderr).toMatch(/plan\.yaml:11:\d+: .*invalid regex: .*\(patterns run on RE2/);
  });
});
