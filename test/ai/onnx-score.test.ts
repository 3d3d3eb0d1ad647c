/**
 * onnx_score: 1 M payments scored through the engine equal onnxruntime's own inference on the same tensors; models
 * written by `abflow model fit` (isolation forest, robust Mahalanobis) carry their features and scaling; rows that
 * cannot be scored follow the failure policy; the sha256 pins the model file.
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { readModel } from '../../operators/ai/onnx/model.js';
import { abflow, tempDir } from '../kit/cli.js';
import { rows } from '../kit/duckdb.js';
import { runText } from '../kit/run.js';

const MODEL = 'models/payments-iforest.onnx';
const SHA = readModel(join(import.meta.dirname, '../..', MODEL), undefined).sha256;

describe('onnx_score', () => {
  it('1 M rows through the engine equal direct onnxruntime inference on the same tensors', async () => {
    const cwd = tempDir('abflow-onnx-');
    writeFileSync(
      join(cwd, 'plan.yaml'),
      `
name: onnx_equal
engine: { parallelism: 2 }
sources:
  - { id: payments, kind: generate, config: { generator: payments, count: 1000000, seed: 5 } }
operators:
  - id: features
    kind: derive
    inputs: [payments]
    config: { columns: { amount_usd: "round(amount * 1.08, 2)", hour_of_day: "extract('hour', event_time)" } }
  - id: scored
    kind: onnx_score
    inputs: [features]
    config: { model: ${MODEL}, sha256: ${SHA}, outputs: { score: anomaly_score } }
  - { id: slim, kind: select, inputs: [scored], config: { columns: [payment_id, amount_usd, hour_of_day, anomaly_score, _ai_model, _ai_version] } }
sinks:
  - { id: out, kind: duckdb, inputs: [slim], config: { path: out/scored.duckdb, table: scored } }
`,
    );
    const r = abflow(['run', 'plan.yaml', '-q'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    const got = await rows(
      join(cwd, 'out/scored.duckdb'),
      'SELECT amount_usd, hour_of_day, anomaly_score, _ai_model, _ai_version FROM scored ORDER BY payment_id',
    );
    expect(got.length).toBe(1_000_000);
    const x = new Float32Array(got.length * 2);
    got.forEach((g, i) => {
      x[2 * i] = Number(g[0]);
      x[2 * i + 1] = Number(g[1]);
    });
    // The session options onnx_score uses: a multi-threaded session sums the trees in another order (results differ
    // in the last float32 bit), and the batch size does not matter.
    const session = await ort.InferenceSession.create(join(import.meta.dirname, '../..', MODEL), {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    const direct = (await session.run({ features: new ort.Tensor('float32', x, [got.length, 2]) })).score!.data as Float32Array;
    let mismatches = 0;
    for (let i = 0; i < got.length; i++) if (got[i]![2] !== direct[i]) mismatches++;
    expect(mismatches).toBe(0);
    expect(new Set(got.map((g) => `${g[3]}@${g[4]}`))).toEqual(
      new Set([`payments-iforest@${readModel(join(import.meta.dirname, '../..', MODEL), SHA).version}`]),
    );
  }, 180_000);

  it('abflow model fit: both kinds train from a table, print validation statistics, and score with their stored scaling', async () => {
    const cwd = tempDir('abflow-fit-');
    const lines: string[] = [];
    let s = 7;
    const rand = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 3000; i++) {
      const bad = i % 100 === 0;
      const a = bad ? 40 + rand() * 10 : 10 + rand() * 4;
      lines.push(JSON.stringify({ a, b: bad ? 0 : a * 2 + rand(), bad }));
    }
    writeFileSync(join(cwd, 'train.jsonl'), lines.join('\n') + '\n');
    for (const kind of ['isolation_forest', 'mahalanobis']) {
      const fit = abflow(['model', 'fit', '--input', 'train.jsonl', '--features', 'a,b', '--kind', kind, '--label', 'bad', '--out', `${kind}.onnx`], { cwd });
      expect(fit.code, fit.stderr).toBe(0);
      expect(fit.stdout).toMatch(/holdout scores: p50 [\d.]+ {2}p90 [\d.]+ {2}p99 [\d.]+ {2}max [\d.]+/);
      const auc = Number(/ROC AUC ([\d.]+)/.exec(fit.stdout)![1]);
      expect(auc).toBeGreaterThan(0.95);
      const sha = /sha256 ([0-9a-f]{64})/.exec(fit.stdout)![1]!;
      const { rows: out } = await runText(`
name: fit_${kind}
sources:
  - { id: in, kind: jsonl, config: { path: ${join(cwd, 'train.jsonl')} } }
operators:
  - { id: scored, kind: onnx_score, inputs: [in], config: { model: ${join(cwd, kind + '.onnx')}, sha256: ${sha} } }
sinks:
  - { id: result, kind: collect, inputs: [scored] }
`);
      const scored = out.get('result')!;
      const meanBad = scored.filter((r) => r.bad).reduce((t, r) => t + Number(r.score), 0) / 30;
      const meanGood = scored.filter((r) => !r.bad).reduce((t, r) => t + Number(r.score), 0) / 2970;
      expect(meanBad).toBeGreaterThan(meanGood + 0.2);
      for (const r of scored) expect(Number(r.score)).toBeGreaterThanOrEqual(0);
    }
  }, 60_000);

  it('rows with null or non-finite features follow the failure policy; shadow mode passes rows unchanged and audits', async () => {
    const cwd = tempDir('abflow-onnx-bad-');
    writeFileSync(
      join(cwd, 'in.jsonl'),
      ['{"id":1,"amount_usd":12.5,"hour_of_day":3}', '{"id":2,"amount_usd":null,"hour_of_day":3}', '{"id":3,"amount_usd":9000,"hour_of_day":4}'].join('\n') +
        '\n',
    );
    const plan = (extra: string) => `
name: onnx_bad
sources:
  - { id: in, kind: jsonl, config: { path: ${join(cwd, 'in.jsonl')}, schema: { id: int64, amount_usd: float64, hour_of_day: int64 } } }
operators:
  - { id: scored, kind: onnx_score, inputs: [in], config: { model: ${MODEL}, sha256: ${SHA}, ${extra} } }
sinks:
  - { id: result, kind: collect, inputs: [scored] }
  - { id: dead, kind: collect, inputs: [scored.dead_letter] }
`;
    const dl = await runText(plan('onError: dead_letter'));
    expect(dl.rows.get('result')!.map((r) => r.id)).toEqual([1n, 3n].map(Number));
    expect(dl.rows.get('dead')!.map((r) => r.reason)).toEqual(['onnx_score: feature amount_usd is null or not a finite number']);
    const nwe = await runText(plan('onError: null_with_error'));
    expect(nwe.rows.get('result')!.map((r) => [r.id, r.score === null, r._ai_error])).toEqual([
      [1, false, null],
      [2, true, 'feature amount_usd is null or not a finite number'],
      [3, false, null],
    ]);
    const shadow = await runText(
      plan('shadow: true, recordKey: [id]').replace('  - { id: dead,', '  - { id: audit, kind: collect, inputs: [scored.audit] }\n  - { id: dead,'),
    );
    expect(Object.keys(shadow.rows.get('result')![0]!)).toEqual(['id', 'amount_usd', 'hour_of_day']);
    const audit = shadow.rows.get('audit')!;
    expect(audit.map((a) => a.record_key)).toEqual(['1', '2', '3']);
    expect(JSON.parse(String(audit[2]!.output)).score).toBeGreaterThan(JSON.parse(String(audit[0]!.output)).score);
  }, 60_000);

  it('a model file that does not match the plan’s sha256 is refused at compile time, with the plan location', () => {
    const cwd = tempDir('abflow-onnx-sha-');
    copyFileSync(join(import.meta.dirname, '../..', MODEL), join(cwd, 'm.onnx'));
    writeFileSync(
      join(cwd, 'plan.yaml'),
      `name: sha\nsources:\n  - { id: p, kind: generate, config: { generator: payments, count: 10 } }\noperators:\n  - id: scored\n    kind: onnx_score\n    inputs: [p]\n    config:\n      model: m.onnx\n      sha256: "${'0'.repeat(64)}"\n      features: [amount, amount]\nsinks:\n  - { id: s, kind: blackhole, inputs: [scored] }\n`,
    );
    const r = abflow(['validate', 'plan.yaml'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/plan\.yaml:10:\d+.*sha256 [0-9a-f]{64}, but the plan expects 0{64}/s);
  });
});
