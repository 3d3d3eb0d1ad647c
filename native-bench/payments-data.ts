/**
 * Payments as Airbyte-free plain JSONL, generated once per benchmark run with the same generator the engine uses.
 */
import { createWriteStream } from 'node:fs';
import { paymentsBatch, paymentsOptions } from '../connectors/generate/generators/payments.js';
import { rowObject } from '../engine/arrow/columns.js';

export async function writePaymentsJsonl(path: string, rows: number): Promise<number> {
  const out = createWriteStream(path);
  const opts = paymentsOptions.parse({});
  let bytes = 0;
  for (let first = 0; first < rows; first += 8192) {
    const b = paymentsBatch(42, Date.parse('2024-01-01T00:00:00Z'), first, Math.min(8192, rows - first), opts);
    let text = '';
    for (let i = 0; i < b.numRows; i++) text += JSON.stringify(rowObject(b, i)) + '\n';
    bytes += Buffer.byteLength(text);
    if (!out.write(text)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(() => r()));
  return bytes;
}

export const PAYMENTS_JSONL_SCHEMA = {
  payment_id: 'int64',
  event_time: 'timestamp',
  customer_id: 'string',
  merchant_id: 'string',
  amount: 'float64',
  currency: 'string',
  status: 'string',
  country: 'string',
  channel: 'string',
} as const;
