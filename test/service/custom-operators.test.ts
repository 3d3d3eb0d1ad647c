/**
 * Custom operators as users write them: the example in examples/ runs in a plan that loads it with `plugins`;
 * `abflow new operator` scaffolds an operator whose own test passes and which runs in a plan; the generated
 * component reference is current.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { componentDocs } from '../../engine/plan/docs.js';
import { loadComponents } from '../../engine/builtins.js';
import { abflow, ROOT, tempDir } from '../kit/cli.js';
import { query } from '../kit/duckdb.js';

describe('custom operators', () => {
  it('examples/plans/payment-deltas.yaml loads the example operator through `plugins` and runs it', async () => {
    const cwd = tempDir('abflow-example-op-');
    const r = abflow(['run', join(ROOT, 'examples/plans/payment-deltas.yaml'), '-q'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    const [s] = await query(
      join(cwd, 'out/payment-deltas.duckdb'),
      'SELECT count(*)::INT AS n, count(amount_delta)::INT AS with_delta, count(DISTINCT customer_id)::INT AS customers FROM deltas',
    );
    expect(s!.n).toBe(20_000);
    // Every customer's first payment has no previous one; every later one has a delta.
    expect(s!.with_delta).toBe(20_000 - Number(s!.customers));
    expect(abflow(['explain', join(ROOT, 'examples/plans/payment-deltas.yaml')]).stdout).toMatch(/spend_delta \[delta\].*keyed by \(customer_id\)/);
  });

  it('abflow new operator: the scaffold’s own test passes, and the operator runs in a plan', () => {
    const dir = tempDir('abflow-scaffold-');
    const made = abflow(['new', 'operator', 'price_scale', '--dir', dir]);
    expect(made.code, made.stderr).toBe(0);
    expect(abflow(['new', 'operator', 'price_scale', '--dir', dir]).stderr).toMatch(/already exists; not overwriting/);
    expect(abflow(['new', 'operator', 'PriceScale', '--dir', dir]).stderr).toMatch(/snake_case/);
    // A user's project: abflow (and vitest) installed in node_modules.
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(ROOT, join(dir, 'node_modules/abflow'));
    symlinkSync(join(ROOT, 'node_modules/vitest'), join(dir, 'node_modules/vitest'));
    const out = execFileSync(process.execPath, [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--root', dir], { cwd: dir, encoding: 'utf8' });
    expect(out).toMatch(/2 passed/);
    writeFileSync(join(dir, 'in.jsonl'), '{"id":1,"price":2.5}\n{"id":2,"price":4}\n');
    writeFileSync(
      join(dir, 'plan.yaml'),
      `name: scaled\nplugins: [price_scale.mjs]\nsources:\n  - { id: in, kind: jsonl, config: { path: in.jsonl, schema: { id: int64, price: float64 } } }\noperators:\n  - { id: tripled, kind: price_scale, inputs: [in], config: { column: price, factor: 3 } }\nsinks:\n  - { id: out, kind: jsonl, inputs: [tripled], config: { path: out.jsonl } }\n`,
    );
    const r = abflow(['run', 'plan.yaml', '-q'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'out.jsonl'), 'utf8')).toBe('{"id":1,"price":7.5}\n{"id":2,"price":12}\n');
  });

  it('a keyed operator that fails when its partition opens, or on a batch, fails the run naming it (its keyed thread hosts a healthy window too)', () => {
    const dir = tempDir('abflow-fragile-');
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(ROOT, join(dir, 'node_modules/abflow'));
    writeFileSync(
      join(dir, 'fragile.mjs'),
      `import { defineOperator, z } from 'abflow/api';
export const abflowComponents = [defineOperator({
  kind: 'fragile', summary: 'fails on purpose', examples: [], execution: 'keyed', keyBy: () => ['customer_id'],
  config: z.object({ failIn: z.enum(['open', 'batch']) }).strict(),
  outputSchemas: (cfg, [input]) => ({ out: input }),
  create(cfg) {
    if (cfg.failIn === 'open') throw new Error('cannot open its state');
    return { processBatch() { throw new Error('cannot take this batch'); } };
  },
})];
`,
    );
    for (const [failIn, message] of [
      ['open', 'cannot open its state'],
      ['batch', 'cannot take this batch'],
    ]) {
      writeFileSync(
        join(dir, 'plan.yaml'),
        `name: fragile
plugins: [fragile.mjs]
sources: [{ id: g, kind: generate, config: { generator: payments, count: 20000 } }]
operators:
  - { id: t, kind: watermark, inputs: [g], config: { column: event_time, maxOutOfOrderness: 1s } }
  - { id: w, kind: window_aggregate, inputs: [t], config: { keyBy: [customer_id], timeColumn: event_time, window: { type: tumbling, size: 1m }, aggregates: { n: count() } } }
  - { id: f, kind: fragile, inputs: [t], config: { failIn: ${failIn} } }
sinks:
  - { id: a, kind: blackhole, inputs: [w] }
  - { id: b, kind: blackhole, inputs: [f] }
`,
      );
      const r = abflow(['run', 'plan.yaml', '-q', '-p', '2'], { cwd: dir });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`operator 'f' (fragile) failed: ${message}`);
    }
  });

  it('a plan plugin that cannot be loaded is a clear error', () => {
    const dir = tempDir('abflow-bad-plugin-');
    writeFileSync(
      join(dir, 'plan.yaml'),
      'name: p\nplugins: [missing.mjs]\nsources:\n  - { id: g, kind: generate, config: { generator: payments, count: 1 } }\nsinks:\n  - { id: s, kind: blackhole, inputs: [g] }\n',
    );
    const r = abflow(['validate', 'plan.yaml'], { cwd: dir });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/cannot load plugin .*missing\.mjs/);
  });

  it('docs/operators.md is generated from the registry and current (npm run docs)', async () => {
    const { registry } = await loadComponents();
    expect(readFileSync(join(ROOT, 'docs/operators.md'), 'utf8')).toBe(componentDocs(registry));
  });
});
