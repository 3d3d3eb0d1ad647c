/**
 * @module scaffold
 * `abflow new operator NAME`: a starting point for a custom operator — the operator module (public API only) and its
 * test on the `abflow/testing` harness. Plain ES modules with `// @ts-check`, so they run without a build step and
 * editors still type-check them against abflow's declarations.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AbflowError } from './errors.js';

const camel = (kind: string) => kind.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

export function operatorFiles(kind: string): Record<string, string> {
  if (!/^[a-z][a-z0-9_]*$/.test(kind)) throw new AbflowError('config', `operator names are snake_case (letters, digits, _): got "${kind}"`);
  const name = camel(kind);
  return {
    [`${kind}.mjs`]: `// @ts-check
/**
 * \`${kind}\`: <what it does, in one sentence>. A custom abflow operator, on the same public API as the built-ins:
 * register it with \`plugins: [./${kind}.mjs]\` in a plan (or \`--plugin ${kind}.mjs\`).
 * This starting point multiplies a numeric column; for keyed state see abflow's examples/operators/delta.mjs.
 */
import { atPath, columnData, columnTypeOf, defineOperator, numbersOf, requireColumn, validityBytes, vecToData, makeBatch, AbflowError, z } from 'abflow/api';

const config = z
  .object({
    column: z.string().min(1).describe('Numeric column to change.'),
    factor: z.number().default(2).describe('What to multiply it by.'),
  })
  .strict();

export const ${name} = defineOperator({
  kind: '${kind}',
  summary: 'Multiplies a numeric column by a factor.',
  config,
  // parallel: stateless per batch, run data-parallel in the worker pool. Use 'keyed' with keyBy for per-key state.
  execution: 'parallel',
  examples: [{ title: 'Double the amount', yaml: 'id: doubled\\nkind: ${kind}\\ninputs: [payments]\\nconfig:\\n  column: amount' }],
  outputSchemas(cfg, [input]) {
    if (!input) throw new AbflowError('config', '${kind} needs an input');
    const i = atPath(['column'], () => requireColumn(input, cfg.column, []));
    const type = columnTypeOf(/** @type {import('abflow/api').Field} */ (input.fields[i]).type);
    if (type !== 'float64') throw new AbflowError('config', \`\\\`\${cfg.column}\\\` is \${type}; ${kind} needs a float64 column\`, { path: ['column'] });
    return { out: input };
  },
  create(cfg, ctx) {
    const input = /** @type {import('abflow/api').Schema} */ (ctx.inputs[0]);
    const index = input.fields.findIndex((f) => f.name === cfg.column);
    return {
      processBatch(batch, out) {
        const data = columnData(batch, index);
        const v = numbersOf(data).map((x) => x * cfg.factor);
        const children = [...batch.data.children];
        children[index] = vecToData({ kind: 'num', v, valid: validityBytes(data) }, 'float64', batch.numRows);
        out.emit(makeBatch(input, children, batch.numRows));
      },
    };
  },
});

export const abflowComponents = [${name}];
`,
    [`${kind}.test.mjs`]: `// Run with: npx vitest run ${kind}.test.mjs
import { describe, expect, it } from 'vitest';
import { operatorHarness } from 'abflow/testing';
import { ${name} } from './${kind}.mjs';

describe('${kind}', () => {
  it('multiplies the column, keeping nulls', async () => {
    const h = operatorHarness(${name}, { column: 'amount', factor: 3 }, { id: 'int64', amount: 'float64' });
    await h.push([{ id: 1, amount: 2.5 }, { id: 2, amount: null }]);
    expect(h.rows()).toEqual([{ id: 1, amount: 7.5 }, { id: 2, amount: null }]);
  });

  it('refuses a column that is not float64, naming the field', () => {
    expect(() => operatorHarness(${name}, { column: 'id' }, { id: 'int64' })).toThrow(/needs a float64 column/);
  });
});
`,
  };
}

/** Writes the files into `dir`; refuses to overwrite. Returns the paths written. */
export function scaffoldOperator(kind: string, dir: string): string[] {
  const files = operatorFiles(kind);
  mkdirSync(dir, { recursive: true });
  const paths = Object.keys(files).map((f) => join(dir, f));
  const existing = paths.filter((p) => existsSync(p));
  if (existing.length) throw new AbflowError('config', `${existing.join(', ')} already exists; not overwriting`);
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  return paths;
}
