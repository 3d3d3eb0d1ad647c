/**
 * @module cli/model
 * `abflow model fit`: trains an anomaly model (isolation forest or Mahalanobis) on a table and writes it as ONNX.
 */
import { type Command, Option } from 'commander';
import { fitModel, type ModelKind } from '../../operators/ai/onnx/fit.js';

export function register(program: Command): void {
  const model = program.command('model').description('train anomaly models for onnx_score');

  model
    .command('fit')
    .description('train an anomaly model on a table (Parquet, JSONL, CSV, or a DuckDB table) and write it as ONNX')
    .requiredOption('--input <file>', 'table to train on: .parquet (or a folder of them), .jsonl, .csv, or a .duckdb database with --table')
    .option('--table <name>', 'table in the DuckDB database')
    .requiredOption('--features <columns>', 'comma-separated numeric feature columns, in tensor order')
    .requiredOption('--out <file>', 'ONNX file to write')
    .addOption(new Option('--kind <kind>', 'model kind').choices(['isolation_forest', 'mahalanobis']).default('isolation_forest'))
    .option('--trees <n>', 'isolation forest: trees', (v) => Number(v), 100)
    .option('--sample-size <n>', 'isolation forest: rows per tree', (v) => Number(v), 256)
    .option('--contamination <fraction>', 'expected anomaly fraction, for the threshold', (v) => Number(v), 0.01)
    .option('--seed <n>', 'random seed', (v) => Number(v), 42)
    .option('--label <column>', 'boolean column marking known anomalies, for ROC AUC / precision / recall on the holdout')
    .option('--name <name>', 'model name stamped on scored rows')
    .action(
      async (o: {
        input: string;
        table?: string;
        features: string;
        out: string;
        kind: ModelKind;
        trees: number;
        sampleSize: number;
        contamination: number;
        seed: number;
        label?: string;
        name?: string;
      }) => {
        const features = o.features
          .split(',')
          .map((f) => f.trim())
          .filter(Boolean);
        const r = await fitModel({ ...o, features });
        const f = (v: number) => v.toFixed(4);
        const lines = [
          `wrote ${o.out}: ${r.kind} over ${features.length} features (${features.join(', ')})`,
          `sha256 ${r.sha256}  version ${r.version}`,
          `rows ${r.rows}: train ${r.trainRows}, holdout ${r.holdoutRows}`,
          `holdout scores: p50 ${f(r.quantiles.p50!)}  p90 ${f(r.quantiles.p90!)}  p99 ${f(r.quantiles.p99!)}  max ${f(r.quantiles.max!)}`,
          `threshold at ${o.contamination * 100}% contamination: ${f(r.threshold)}`,
          ...(r.auc !== undefined ? [`holdout vs ${o.label}: ROC AUC ${f(r.auc)}, precision ${f(r.precision!)}, recall ${f(r.recall!)} at the threshold`] : []),
        ];
        process.stdout.write(lines.join('\n') + '\n');
      },
    );
}
