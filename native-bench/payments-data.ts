/**
 * Payments as Airbyte-free plain JSONL, generated once per benchmark run with the same generator the engine uses.
 */
import { createWriteStream } from 'node:fs';
import { paymentsBatch, paymentsOptions, paymentsSchema } from '../connectors/generate/generators/payments.js';
import { fieldsOf } from '../engine/types.js';
import { rowObject } from '../engine/arrow/columns.js';

/** Writes `rows` generated payments as JSON lines; `wrap` turns a row's JSON into the line (e.g. an Airbyte
 * RECORD) and may add lines after row `i` (e.g. a STATE). */
export async function writePaymentsJsonl(path: string, rows: number, wrap?: (json: string, i: number) => string): Promise<number> {
  const out = createWriteStream(path);
  const opts = paymentsOptions.parse({});
  let bytes = 0;
  for (let first = 0; first < rows; first += 8192) {
    const b = paymentsBatch(42, Date.parse('2024-01-01T00:00:00Z'), first, Math.min(8192, rows - first), opts);
    let text = '';
    for (let i = 0; i < b.numRows; i++) {
      const json = JSON.stringify(rowObject(b, i));
      text += (wrap ? wrap(json, first + i) : json) + '\n';
    }
    bytes += Buffer.byteLength(text);
    if (!out.write(text)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(() => r()));
  return bytes;
}

/** The generator's columns as a jsonl source `schema` (name → type). */
export const PAYMENTS_JSONL_SCHEMA = Object.fromEntries(fieldsOf(paymentsSchema).map((f) => [f.name, f.type]));
