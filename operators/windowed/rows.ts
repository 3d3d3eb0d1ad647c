/**
 * Rows kept in keyed state by operators that must output whole input rows (top-n, joins): read once from Arrow into
 * plain values, written back with column builders when they are emitted.
 */
import { appendValue, ColumnBuilder, columnData, columnTypeOf, makeBatch, type RecordBatch, type Schema, type Vec, vecFromData } from '../../engine/api.js';
import { valueOf } from './aggregates.js';

export type Row = unknown[];

/** Column readers for one batch; `row(i)` materializes row i (numbers for times, as ms). */
export function rowReader(batch: RecordBatch): (i: number) => Row {
  const vecs: Vec[] = batch.schema.fields.map((f, c) => vecFromData(columnData(batch, c), columnTypeOf(f.type)));
  return (i) => vecs.map((v) => valueOf(v, i));
}

export function rowsToBatch(schema: Schema, rows: readonly Row[]): RecordBatch {
  const b = schema.fields.map((f) => new ColumnBuilder(columnTypeOf(f.type), rows.length));
  for (const r of rows) for (let c = 0; c < b.length; c++) appendValue(b[c]!, r[c]);
  return makeBatch(
    schema,
    b.map((x) => x.finish()),
    rows.length,
  );
}
