/**
 * The Nexmark generator (shared/spec/nexmark.md §4): people, auctions and bids in the standard 1 : 3 : 46
 * proportions, with the id, hot-item, price and size distributions of the Beam/Flink generator. Every event is a
 * pure function of (seed, event number) (Beam's per-event seeding), so runs are reproducible at any parallelism.
 * Bidders follow Beam/Arroyo (one FIRST_PERSON_ID offset), not the Flink port's double offset.
 * Events are in timestamp order unless `outOfOrderGroupSize` > 1, which permutes events within groups of that size
 * (the spec's `*953 % G` rule) to exercise out-of-order handling.
 */
import { ColumnBuilder, fieldsOf, makeBatch, type RecordBatch, schemaOf, z } from '../../../engine/api.js';
import { EventRandom } from '../random.js';

export const nexmarkSchemas = {
  person: schemaOf({
    id: 'int64',
    name: 'string',
    emailAddress: 'string',
    creditCard: 'string',
    city: 'string',
    state: 'string',
    dateTime: 'timestamp',
    extra: 'string',
  }),
  auction: schemaOf({
    id: 'int64',
    itemName: 'string',
    description: 'string',
    initialBid: 'int64',
    reserve: 'int64',
    dateTime: 'timestamp',
    expires: 'timestamp',
    seller: 'int64',
    category: 'int64',
    extra: 'string',
  }),
  bid: schemaOf({ auction: 'int64', bidder: 'int64', price: 'int64', channel: 'string', url: 'string', dateTime: 'timestamp', extra: 'string' }),
};

export const nexmarkOptions = z
  .object({
    eventsPerSecond: z.number().positive().default(10_000).describe('Event-time rate (first-event.rate): events per second of event time.'),
    outOfOrderGroupSize: z.number().int().min(1).default(1).describe('Events are shuffled within groups of this size (1: in order).'),
  })
  .strict();

export type NexmarkOptions = z.output<typeof nexmarkOptions>;

const PERSON_PROPORTION = 1;
const AUCTION_PROPORTION = 3;
const TOTAL_PROPORTION = 50;
const FIRST_ID = 1000;
const FIRST_CATEGORY_ID = 10;
const NUM_CATEGORIES = 5;
const IN_FLIGHT_AUCTIONS = 100;
const ACTIVE_PEOPLE = 1000;
const FIRST_NAMES = ['Peter', 'Paul', 'Luke', 'John', 'Saul', 'Vicky', 'Kate', 'Julie', 'Sarah', 'Deiter', 'Walter'];
const LAST_NAMES = ['Shultz', 'Abrams', 'Spencer', 'White', 'Bartels', 'Walton', 'Smith', 'Jones', 'Noris'];
const CITIES = ['Phoenix', 'Los Angeles', 'San Francisco', 'Boise', 'Portland', 'Bend', 'Redmond', 'Seattle', 'Kent', 'Cheyenne'];
const STATES = ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY'];
const HOT_CHANNELS = ['Google', 'Facebook', 'Baidu', 'Apple'];
// Channels, URLs and `extra` padding are kept as bytes and copied into the Arrow column: encoding each one again
// (some 90 characters per bid) was the generator's largest cost (native-bench nexmark q0, --cpu-prof). Plain
// Uint8Arrays, not Buffers: a Buffer's subarray is several times slower to make.
const utf8 = new TextEncoder();
const HOT_CHANNEL_NAMES = HOT_CHANNELS.map((c) => utf8.encode(c));
const HOT_URLS = HOT_CHANNELS.map((c) => utf8.encode(`https://www.nexmark.com/${c.toLowerCase()}/item.htm?query=1`));

function lastBase0PersonId(eventId: number): number {
  const epoch = Math.floor(eventId / TOTAL_PROPORTION);
  let offset = eventId % TOTAL_PROPORTION;
  if (offset >= PERSON_PROPORTION) offset = PERSON_PROPORTION - 1;
  return epoch * PERSON_PROPORTION + offset;
}

function lastBase0AuctionId(eventId: number): number {
  let epoch = Math.floor(eventId / TOTAL_PROPORTION);
  let offset = eventId % TOTAL_PROPORTION;
  if (offset < PERSON_PROPORTION) {
    epoch--;
    offset = AUCTION_PROPORTION - 1;
  } else if (offset >= PERSON_PROPORTION + AUCTION_PROPORTION) offset = AUCTION_PROPORTION - 1;
  else offset -= PERSON_PROPORTION;
  return epoch * AUCTION_PROPORTION + offset;
}

function nextBase0PersonId(eventId: number, r: EventRandom): number {
  const numPeople = lastBase0PersonId(eventId) + 1;
  const active = Math.min(numPeople, ACTIVE_PEOPLE);
  return numPeople - active + r.int(active + 10);
}

function nextBase0AuctionId(eventId: number, r: EventRandom): number {
  const max = lastBase0AuctionId(eventId);
  const min = Math.max(max - IN_FLIGHT_AUCTIONS, 0);
  return min + r.int(max - min + 1 + 10);
}

/** Beam's Math.pow(10, u × 6) × 100, rounded to cents, as exp(u × 6 ln 10): the same cents (no difference in 10 M
 * draws) at a third of the cost of `**`. */
function nextPrice(r: EventRandom): number {
  return Math.round(Math.exp(r.next() * 6 * Math.LN10) * 100);
}

function nextString(r: EventRandom, maxLength: number, special = ' '): string {
  const len = 3 + r.int(maxLength - 3);
  let s = '';
  for (let i = 0; i < len; i++) s += r.int(13) === 0 ? special : String.fromCharCode(97 + r.int(26));
  return s.trim();
}

/** Appends `extra` padding, cut from `pool`, that brings the event to about `desiredAverage` bytes. */
function appendExtra(to: ColumnBuilder, pool: Uint8Array, r: EventRandom, currentSize: number, desiredAverage: number): void {
  if (currentSize > desiredAverage) return to.appendString('');
  const d = desiredAverage - currentSize;
  const delta = Math.round(d * 0.2);
  const len = d - delta + (delta === 0 ? 0 : r.int(2 * delta));
  const at = r.int(pool.length - len);
  to.appendUtf8(pool, at, at + len);
}

interface Pools {
  /** 1 MiB of random lowercase text, from which `extra` padding is cut. */
  readonly extra: Uint8Array;
  /** The names and URLs of the 10 000 non-hot channels. */
  readonly channelNames: readonly Uint8Array[];
  readonly channelUrls: readonly Uint8Array[];
}

let pools: Pools | undefined;

/** Seeded, so identical everywhere; built on first use, not at import: every worker thread imports this module
 * and only the source's thread generates (building them cost each thread ≈ 50 ms, Nexmark q5 --cpu-prof). */
function generatorPools(): Pools {
  if (pools) return pools;
  const r = new EventRandom(0x5eed, 0);
  const extra = new Uint8Array(1 << 20);
  for (let i = 0; i < extra.length; i++) extra[i] = 97 + r.int(26);
  const u = new EventRandom(0x0c4a, 0);
  const channelUrls = Array.from({ length: 10_000 }, (_, i) => {
    let url = `https://www.nexmark.com/${nextString(u, 5, '_')}/${nextString(u, 5, '_')}/${nextString(u, 5, '_')}/item.htm?query=1`;
    if (u.int(10) > 0) url += `&channel_id=${Math.abs(reverseBits32(i))}`;
    return utf8.encode(url);
  });
  const channelNames = channelUrls.map((_, i) => utf8.encode(`channel-${i}`));
  return (pools = { extra, channelNames, channelUrls });
}

function reverseBits32(i: number): number {
  let x = i >>> 0;
  x = ((x >>> 1) & 0x55555555) | ((x & 0x55555555) << 1);
  x = ((x >>> 2) & 0x33333333) | ((x & 0x33333333) << 2);
  x = ((x >>> 4) & 0x0f0f0f0f) | ((x & 0x0f0f0f0f) << 4);
  x = ((x >>> 8) & 0x00ff00ff) | ((x & 0x00ff00ff) << 8);
  return (x >>> 16) | (x << 16) | 0;
}

function builders(schema: (typeof nexmarkSchemas)[keyof typeof nexmarkSchemas], n: number): ColumnBuilder[] {
  return fieldsOf(schema).map((f) => new ColumnBuilder(f.type, n));
}

export interface NexmarkBatch {
  readonly port: 'person' | 'auction' | 'bid';
  readonly batch: RecordBatch;
  readonly positions: Float64Array;
}

/** Events [first, first + count) of the stream, split by type. Positions are event numbers (1-based). */
export function nexmarkBatch(seed: number, baseTimeMs: number, first: number, count: number, o: NexmarkOptions): NexmarkBatch[] {
  const delayUs = 1e6 / o.eventsPerSecond;
  const timestampOf = (n: number) => baseTimeMs + Math.floor((n * delayUs) / 1000);
  const G = o.outOfOrderGroupSize;
  const { extra, channelNames, channelUrls } = generatorPools();
  const cols = {
    person: builders(nexmarkSchemas.person, count >> 4),
    auction: builders(nexmarkSchemas.auction, count >> 3),
    bid: builders(nexmarkSchemas.bid, count),
  };
  const pos = { person: [] as number[], auction: [] as number[], bid: [] as number[] };
  for (let k = 0; k < count; k++) {
    const n = first + k;
    const eventId = Math.floor(n / G) * G + ((n * 953) % G);
    const ts = timestampOf(eventId);
    const r = new EventRandom(seed, eventId);
    const rem = eventId % TOTAL_PROPORTION;
    if (rem < PERSON_PROPORTION) {
      const c = cols.person;
      const name = `${r.pick(FIRST_NAMES)} ${r.pick(LAST_NAMES)}`;
      const email = `${nextString(r, 7)}@${nextString(r, 5)}.com`;
      const card = Array.from({ length: 4 }, () => String(r.int(10_000)).padStart(4, '0')).join(' ');
      const city = r.pick(CITIES);
      const state = r.pick(STATES);
      c[0]!.appendNumber(lastBase0PersonId(eventId) + FIRST_ID);
      c[1]!.appendString(name);
      c[2]!.appendString(email);
      c[3]!.appendString(card);
      c[4]!.appendString(city);
      c[5]!.appendString(state);
      c[6]!.appendNumber(ts);
      appendExtra(c[7]!, extra, r, 8 + name.length + email.length + card.length + city.length + state.length, 200);
      pos.person.push(n + 1);
    } else if (rem < PERSON_PROPORTION + AUCTION_PROPORTION) {
      const c = cols.auction;
      const seller = (r.int(4) > 0 ? Math.floor(lastBase0PersonId(eventId) / 100) * 100 : nextBase0PersonId(eventId, r)) + FIRST_ID;
      const category = FIRST_CATEGORY_ID + r.int(NUM_CATEGORIES);
      const initialBid = nextPrice(r);
      const reserve = initialBid + nextPrice(r);
      const horizon = timestampOf(eventId + Math.floor((IN_FLIGHT_AUCTIONS * TOTAL_PROPORTION) / AUCTION_PROPORTION)) - ts;
      const expires = ts + 1 + r.int(Math.max(2 * horizon, 1));
      const itemName = nextString(r, 20);
      const description = nextString(r, 100);
      c[0]!.appendNumber(lastBase0AuctionId(eventId) + FIRST_ID);
      c[1]!.appendString(itemName);
      c[2]!.appendString(description);
      c[3]!.appendNumber(initialBid);
      c[4]!.appendNumber(reserve);
      c[5]!.appendNumber(ts);
      c[6]!.appendNumber(expires);
      c[7]!.appendNumber(seller);
      c[8]!.appendNumber(category);
      appendExtra(c[9]!, extra, r, 8 + itemName.length + description.length + 40, 500);
      pos.auction.push(n + 1);
    } else {
      const c = cols.bid;
      const auction = (r.int(2) > 0 ? Math.floor(lastBase0AuctionId(eventId) / 100) * 100 : nextBase0AuctionId(eventId, r)) + FIRST_ID;
      const bidder = (r.int(4) > 0 ? Math.floor(lastBase0PersonId(eventId) / 100) * 100 + 1 : nextBase0PersonId(eventId, r)) + FIRST_ID;
      const price = nextPrice(r);
      let channel: Uint8Array;
      let url: Uint8Array;
      if (r.int(2) > 0) {
        const h = r.int(HOT_CHANNELS.length);
        channel = HOT_CHANNEL_NAMES[h]!;
        url = HOT_URLS[h]!;
      } else {
        const i = r.int(10_000);
        channel = channelNames[i]!;
        url = channelUrls[i]!;
      }
      c[0]!.appendNumber(auction);
      c[1]!.appendNumber(bidder);
      c[2]!.appendNumber(price);
      c[3]!.appendUtf8(channel, 0, channel.length);
      c[4]!.appendUtf8(url, 0, url.length);
      c[5]!.appendNumber(ts);
      appendExtra(c[6]!, extra, r, 32, 100);
      pos.bid.push(n + 1);
    }
  }
  return (['person', 'auction', 'bid'] as const)
    .filter((p) => pos[p].length)
    .map((p) => ({
      port: p,
      batch: makeBatch(
        nexmarkSchemas[p],
        cols[p].map((b) => b.finish()),
        pos[p].length,
      ),
      positions: Float64Array.from(pos[p]),
    }));
}
