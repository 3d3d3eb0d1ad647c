/**
 * The `clickstream` generator: page views and actions of users who come and go, so that their clicks form sessions
 * separated by long quiet gaps. A user is active while the rotating set of active users (changing every 20 minutes
 * of event time) includes them; each event is a pure function of (seed, event number).
 */
import { ColumnBuilder, fieldsOf, makeBatch, type RecordBatch, schemaOf, z } from '../../../engine/api.js';
import { EventRandom } from '../random.js';

export const clickstreamSchema = schemaOf({ event_id: 'int64', user_id: 'string', ts: 'timestamp', page: 'string', action: 'string', referrer: 'string' });

export const clickstreamOptions = z
  .object({
    users: z.number().int().min(10).default(10_000).describe('Distinct users.'),
    eventsPerSecond: z.number().positive().default(5).describe('Event-time density.'),
    activeUsers: z.number().int().min(1).default(60).describe('Users active at any moment.'),
  })
  .strict();

export type ClickstreamOptions = z.output<typeof clickstreamOptions>;

const PAGES = ['/', '/search', '/product', '/product', '/product', '/cart', '/checkout', '/account', '/help'];
const ACTIONS = ['view', 'view', 'view', 'view', 'click', 'click', 'add_to_cart', 'purchase'];
const REFERRERS = ['direct', 'google', 'newsletter', 'ads', 'social'];
const ROTATION_MS = 20 * 60_000;

export function clickstreamBatch(
  seed: number,
  startMs: number,
  first: number,
  count: number,
  o: ClickstreamOptions,
): { port: string; batch: RecordBatch; positions: Float64Array }[] {
  const b = fieldsOf(clickstreamSchema).map((f) => new ColumnBuilder(f.type, count));
  const positions = new Float64Array(count);
  for (let k = 0; k < count; k++) {
    const n = first + k;
    const r = new EventRandom(seed, n);
    const ts = startMs + Math.floor((n * 1000) / o.eventsPerSecond);
    const rotation = Math.floor((ts - startMs) / ROTATION_MS);
    const user = (rotation * Math.floor(o.activeUsers / 2) + r.int(o.activeUsers)) % o.users;
    b[0]!.appendNumber(n + 1);
    b[1]!.appendString('u' + String(user).padStart(5, '0'));
    b[2]!.appendNumber(ts);
    b[3]!.appendString(r.pick(PAGES));
    b[4]!.appendString(r.pick(ACTIONS));
    b[5]!.appendString(r.pick(REFERRERS));
    positions[k] = n + 1;
  }
  return [
    {
      port: 'out',
      batch: makeBatch(
        clickstreamSchema,
        b.map((x) => x.finish()),
        count,
      ),
      positions,
    },
  ];
}
