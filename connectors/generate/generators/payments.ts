/**
 * The `payments` generator: card payments with customers, merchants, amounts, currencies and statuses, in event-time
 * order with realistic out-of-order arrival, plus injected anomalies to detect (labelled in `injected`):
 * - `failure_burst`: for two minutes in every hour one merchant's payments mostly fail;
 * - `outlier_amount`: about 0.1 % of payments are 50-200x the customer's usual amount;
 * - `merchant_silent`: merchant m0007 stops sending payments for the second half of every third hour.
 */
import { ColumnBuilder, makeBatch, schemaOf, z } from '../../../engine/api.js';
import { EventRandom } from '../random.js';

export const paymentsSchema = schemaOf({
  payment_id: 'int64',
  event_time: 'timestamp',
  customer_id: 'string',
  merchant_id: 'string',
  amount: 'float64',
  currency: 'string',
  status: 'string',
  country: 'string',
  channel: 'string',
  injected: 'string',
});

export const paymentsOptions = z
  .object({
    customers: z.number().int().min(1).default(5000).describe('Distinct customers.'),
    merchants: z.number().int().min(8).default(200).describe('Distinct merchants.'),
    eventsPerSecond: z.number().positive().default(50).describe('Event-time density: payments per second of event time.'),
    lateFraction: z.number().min(0).max(1).default(0.05).describe('Share of payments that arrive late (out of order).'),
    maxLatenessMs: z.number().int().min(0).default(20_000).describe('Largest delay of a late payment, in ms of event time.'),
  })
  .strict();

export type PaymentsOptions = z.output<typeof paymentsOptions>;

const CURRENCIES = ['USD', 'USD', 'USD', 'EUR', 'EUR', 'GBP', 'JPY', 'CAD'] as const;
const COUNTRIES = ['US', 'US', 'DE', 'FR', 'GB', 'JP', 'CA', 'NL', 'ES', 'BR'] as const;
const CHANNELS = ['web', 'app', 'pos'] as const;
const HOUR = 3_600_000;

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Builds rows [first, first + count) of the payment stream starting at `startMs`. */
export function paymentsBatch(seed: number, startMs: number, first: number, count: number, o: PaymentsOptions) {
  const cols = {
    payment_id: new ColumnBuilder('int64', count),
    event_time: new ColumnBuilder('timestamp', count),
    customer_id: new ColumnBuilder('string', count),
    merchant_id: new ColumnBuilder('string', count),
    amount: new ColumnBuilder('float64', count),
    currency: new ColumnBuilder('string', count),
    status: new ColumnBuilder('string', count),
    country: new ColumnBuilder('string', count),
    channel: new ColumnBuilder('string', count),
    injected: new ColumnBuilder('string', count),
  };
  const intervalMs = 1000 / o.eventsPerSecond;
  for (let k = 0; k < count; k++) {
    const n = first + k;
    const r = new EventRandom(seed, n);
    let ts = startMs + Math.floor(n * intervalMs);
    if (r.next() < o.lateFraction) ts -= 1 + r.int(o.maxLatenessMs);
    const customer = r.int(o.customers);
    let merchant = Math.min(o.merchants - 1, Math.floor(Math.pow(r.next(), 2) * o.merchants)); // popular merchants first
    const sinceStart = ts - startMs;
    const hourIndex = Math.floor(sinceStart / HOUR);
    const inHour = sinceStart - hourIndex * HOUR;
    if (merchant === 7 && hourIndex % 3 === 2 && inHour >= HOUR / 2) merchant = 8; // m0007 goes silent
    // A customer's usual spend is log-normal around a per-customer level.
    const level = 20 + new EventRandom(seed, -1 - customer).next() * 180;
    let amount = Math.max(0.5, level * Math.exp(0.6 * r.normal()));
    let status = r.next() < 0.03 ? 'failed' : r.next() < 0.02 ? 'refunded' : r.next() < 0.02 ? 'pending' : 'settled';
    let injected: string | null = null;
    const burstMerchant = hourIndex % Math.max(1, o.merchants);
    if (merchant === burstMerchant && inHour >= 10 * 60_000 && inHour < 12 * 60_000 && r.next() < 0.8) {
      status = 'failed';
      injected = 'failure_burst';
    }
    if (r.next() < 0.001) {
      amount *= 50 + r.int(150);
      injected = 'outlier_amount';
    }
    cols.payment_id.appendNumber(n + 1);
    cols.event_time.appendNumber(ts);
    cols.customer_id.appendString('c' + pad(customer, 6));
    cols.merchant_id.appendString('m' + pad(merchant, 4));
    cols.amount.appendNumber(Math.round(amount * 100) / 100);
    cols.currency.appendString(r.pick(CURRENCIES));
    cols.status.appendString(status);
    cols.country.appendString(r.pick(COUNTRIES));
    cols.channel.appendString(r.pick(CHANNELS));
    if (injected) cols.injected.appendString(injected);
    else cols.injected.appendNull();
  }
  return makeBatch(
    paymentsSchema,
    Object.values(cols).map((c) => c.finish()),
    count,
  );
}
