/**
 * The `tickets` generator: customer support tickets as a helpdesk's Airbyte source would deliver them, with the
 * personal data real tickets carry (emails, phone numbers, card numbers, IBANs, IP addresses) in their free text,
 * for PII masking and LLM triage demos. Each ticket is a pure function of (seed, ticket number).
 */
import { ColumnBuilder, fieldsOf, makeBatch, type RecordBatch, schemaOf, z } from '../../../engine/api.js';
import { EventRandom } from '../random.js';

export const ticketsSchema = schemaOf({
  ticket_id: 'int64',
  created_at: 'timestamp',
  channel: 'string',
  customer_email: 'string',
  product: 'string',
  subject: 'string',
  body: 'string',
  customer_id: 'string',
});

export const ticketsOptions = z
  .object({
    ticketsPerHour: z.number().positive().default(120).describe('Event-time density.'),
    customers: z.number().int().min(1).default(5000).describe('Distinct customers (ids as the payments generator writes them: c000042).'),
  })
  .strict();
export type TicketsOptions = z.output<typeof ticketsOptions>;

const PRODUCTS = ['billing', 'checkout', 'mobile app', 'API', 'dashboard', 'exports'];
const CHANNELS = ['email', 'chat', 'web', 'phone'];
const NAMES = ['alice', 'bob', 'chen', 'dana', 'emeka', 'fatima', 'gita', 'hugo', 'ines', 'jonas'];
const DOMAINS = ['example.com', 'mail.test', 'corp.example.org'];
/** Luhn-valid test card numbers of the major schemes. */
const CARDS = ['4111 1111 1111 1111', '5500-0000-0000-0004', '340000000000009', '6011000000000004'];
const IBANS = ['DE89 3704 0044 0532 0130 00', 'GB82WEST12345698765432', 'FR1420041010050500013M02606'];
const ISSUES: readonly (readonly [subject: string, body: string])[] = [
  ['Checkout is down', 'Nobody can pay since 10:00, every checkout returns error 500. This is costing us sales right now!'],
  ['Charged twice', 'My card {card} was charged twice for the same order. Please refund one of the charges.'],
  ['Cannot log in', 'Password reset emails never arrive at {email}. Call me on {phone} please.'],
  ['Export is slow', 'The CSV export of last month takes more than an hour to finish.'],
  ['Feature request: dark mode', 'Would love a dark mode in the dashboard.'],
  ['Wrong IBAN on invoice', 'The invoice shows the wrong IBAN, ours is {iban}. Please correct it.'],
  ['API rate limits', 'We get HTTP 429 from the API from {ip} although we are under our quota.'],
  ['App crashes on start', 'The mobile app crashes right after the splash screen since the last update.'],
];

export function ticketsBatch(
  seed: number,
  startMs: number,
  first: number,
  count: number,
  o: TicketsOptions,
): { port: string; batch: RecordBatch; positions: Float64Array }[] {
  const b = fieldsOf(ticketsSchema).map((f) => new ColumnBuilder(f.type, count));
  const positions = new Float64Array(count);
  for (let k = 0; k < count; k++) {
    const n = first + k;
    const r = new EventRandom(seed, n);
    const name = r.pick(NAMES);
    const email = `${name}.${r.int(1000)}@${r.pick(DOMAINS)}`;
    const [subject, body] = r.pick(ISSUES);
    const phone = `+1 (${200 + r.int(700)}) 555-${String(r.int(10_000)).padStart(4, '0')}`;
    const ip = `${10 + r.int(200)}.${r.int(256)}.${r.int(256)}.${1 + r.int(254)}`;
    b[0]!.appendNumber(n + 1);
    b[1]!.appendNumber(startMs + Math.floor((n * 3_600_000) / o.ticketsPerHour));
    b[2]!.appendString(r.pick(CHANNELS));
    b[3]!.appendString(email);
    b[4]!.appendString(r.pick(PRODUCTS));
    b[5]!.appendString(subject);
    b[6]!.appendString(
      body.replace('{card}', r.pick(CARDS)).replace('{email}', email).replace('{phone}', phone).replace('{iban}', r.pick(IBANS)).replace('{ip}', ip),
    );
    // Drawn last, so the other columns are what they were before tickets had a customer.
    b[7]!.appendString('c' + String(r.int(o.customers)).padStart(6, '0'));
    positions[k] = n + 1;
  }
  return [
    {
      port: 'out',
      batch: makeBatch(
        ticketsSchema,
        b.map((x) => x.finish()),
        count,
      ),
      positions,
    },
  ];
}
