/**
 * `kafka` source: reads topics (a list or a pattern) in a consumer group, partitions assigned by the group. Each
 * message's value is JSON decoded in the worker pool (`json_decode`; a bad value, an oversized one or a tombstone is
 * a dead letter whose position names topic, partition and offset) or kept raw (base64). Metadata (topic, partition,
 * offset, key, timestamp, headers) can be added as `_kafka_*` columns.
 *
 * Offsets: the next offset of every partition read is part of abflow's checkpoint, and committed to the group in Kafka
 * only once that checkpoint is complete (Flink's KafkaSource does the same), so the group's lag is truthful and other
 * tools see progress. On restore the checkpoint wins: reading continues right after it, whatever the group says. A
 * fresh start begins at the group's committed offsets (`committed`, falling back to `resetTo`), at the earliest or
 * latest offsets, or at the first message at or after a timestamp. Transactional producers' aborted messages are never
 * read (read_committed). `bounded: latest` ends the input at the offsets that were latest when the job started.
 */
import {
  AbflowError,
  boundedWatermark,
  ColumnBuilder,
  columnTypeSchema,
  defineSource,
  duration,
  makeBatch,
  Schema,
  schemaOf,
  type SourceOutput,
  z,
} from '../../engine/api.js';
import { LINES_SCHEMA, messageColumns, NO_VALUE } from '../jsonl/lines.js';
import { clientOptions, connectionConfig, errorText, kafkaError, kafkaLib } from './connection.js';

const METADATA = { topic: 'string', partition: 'int32', offset: 'int64', key: 'string', timestamp: 'timestamp', headers: 'json' } as const;
type MetadataField = keyof typeof METADATA;

const config = z
  .object({
    ...connectionConfig,
    topics: z.array(z.string().min(1)).min(1).optional().describe('Topics to read.'),
    topicPattern: z.string().min(1).optional().describe('Or: a regular expression; every topic whose whole name matches it when the job starts.'),
    groupId: z.string().min(1).describe('Consumer group: partitions are shared among its members, and offsets are committed to it.'),
    groupInstanceId: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Static group membership (KIP-345): a restarted job takes its partitions back at once instead of waiting out its killed predecessor's session. Default: abflow-<plan>-<node id>; give each instance of a plan run several times over its own.",
      ),
    startFrom: z
      .union([z.enum(['committed', 'earliest', 'latest']), z.object({ timestamp: z.string().min(1) }).strict()])
      .default('committed')
      .describe('Where a fresh start begins: the group’s committed offsets, earliest, latest, or { timestamp: ISO time }.'),
    resetTo: z.enum(['earliest', 'latest']).default('earliest').describe('Where `committed` begins on a partition the group has no offset for.'),
    bounded: z.enum(['latest']).optional().describe('End the input at the offsets that were latest when the job started (a batch run over a topic).'),
    format: z.enum(['json', 'raw']).default('json').describe('json: values are JSON objects, read into `schema`; raw: the value as base64 text in `value`.'),
    schema: z.record(z.string(), columnTypeSchema).optional().describe('Columns to read from each JSON value: name → type (format json).'),
    metadata: z
      .array(z.enum(Object.keys(METADATA) as [MetadataField, ...MetadataField[]]))
      .default([])
      .describe('Message metadata to add as columns `_kafka_<name>`: topic, partition, offset, key, timestamp, headers.'),
    maxMessageBytes: z
      .number()
      .int()
      .positive()
      .default(1 << 20)
      .describe('Larger values are dead-lettered (format json).'),
    maxWait: duration().default(500).describe('How long a fetch waits for new messages on the broker.'),
    watermark: z
      .object({
        maxOutOfOrderness: duration().default(0).describe('How far behind the newest timestamp of a partition its messages may arrive.'),
        idleTimeout: duration()
          .optional()
          .describe('A partition without messages for this long, and with nothing left to read (checked with the brokers), stops holding event time back.'),
      })
      .strict()
      .optional()
      .describe(
        "Event time from the messages' timestamps (`_kafka_timestamp`), tracked per partition as Flink's KafkaSource does: the watermark is the smallest over this member's partitions of (newest timestamp − maxOutOfOrderness − 1).",
      ),
  })
  .strict()
  .refine((c) => (c.topics === undefined) !== (c.topicPattern === undefined), { message: 'give either `topics` or `topicPattern`', path: ['topics'] })
  .refine((c) => c.format === 'raw' || c.schema, { message: 'format json needs a `schema` of the columns to read', path: ['schema'] });

type Config = z.output<typeof config>;

/** What a checkpoint holds: the next offset to read per `topic:partition` (decimal text: offsets are 64-bit). */
interface Position {
  readonly next: Readonly<Record<string, string>>;
}

/** The decoder's column naming each message's place, `topic[partition]@offset`, for its dead letters' reasons. */
const PLACE = '_kafka_place';
/** The metadata columns; `watermark` needs the timestamp, the windows' time column. */
const metadataFields = (cfg: Config): MetadataField[] => (cfg.watermark && !cfg.metadata.includes('timestamp') ? [...cfg.metadata, 'timestamp'] : cfg.metadata);
const metadataColumns = (cfg: Config) => Object.fromEntries(metadataFields(cfg).map((m) => [`_kafka_${m}`, METADATA[m]]));
/** Positions are numbers (doubles): a partition index above 2^40 offsets keeps them exact up to partition 8 191. */
const OFFSET_BITS = 2 ** 40;
/** Retries of each request within the consumer client, before the source tries again on a new client. */
const CLIENT_RETRIES = 3;
/** How long (ms) a partition behind its end may send nothing, all fetched having been read, before the stream is
 * replaced: a working stream brings some of every lagging partition with each fetch (maxWait, 500 ms by default). */
const STALL_MS = 10_000;
/** How often (ms) a source with quiet partitions asks the brokers where their logs end. */
const LOOK_EVERY = 1000;

export const kafkaSource = defineSource({
  kind: 'kafka',
  summary: 'Reads JSON (or raw) messages from Kafka topics in a consumer group; offsets committed after each checkpoint.',
  config,
  examples: [
    {
      title: 'Orders as JSON, with their partition and offset',
      yaml: 'id: orders\nkind: kafka\nconfig:\n  bootstrapServers: broker1:9092,broker2:9092\n  topics: [orders]\n  groupId: abflow-orders\n  schema: { order_id: string, amount: float64, created_at: timestamp }\n  metadata: [partition, offset]',
    },
  ],
  display: (cfg) => ({ topics: cfg.topics?.join(', ') ?? `/${cfg.topicPattern}/`, group: cfg.groupId }),
  // The position belongs to the consumer group's reading of its topics, beyond one run: a run after a finished one
  // continues where it ended (a bounded run again reads what arrived since), as a group's consumer does. `startFrom`
  // only places a group's first run; --from-scratch starts over.
  connection: (cfg) => ({ groupId: cfg.groupId, topics: cfg.topics ?? null, topicPattern: cfg.topicPattern ?? null }),
  outputSchemas: (cfg) => ({ out: schemaOf({ ...(cfg.format === 'json' ? cfg.schema : { value: 'string' }), ...metadataColumns(cfg) }) }),
  decoder: (cfg) =>
    cfg.format === 'json'
      ? {
          kind: 'json_decode',
          config: { schema: cfg.schema, maxLineBytes: cfg.maxMessageBytes, carry: Object.keys(metadataColumns(cfg)), locate: PLACE },
          input: decoderInput(cfg),
        }
      : undefined,
  create(cfg, ctx) {
    const { Consumer, Admin, FetchIsolationLevels } = kafkaLib();
    const options = clientOptions(cfg, ctx.nodeId);
    /** Partitions by index: a row's position is index × 2^40 + offset, so a dead letter names its message. */
    const partitions: string[] = [];
    const indexOf = new Map<string, number>();
    const next = new Map<string, bigint>();
    const newConsumer = () => {
      const c = new Consumer({
        ...options,
        // The source retries (see `persistently` in read), on a new client: the client's own retries stay brief.
        retries: CLIENT_RETRIES,
        groupId: cfg.groupId,
        groupInstanceId: cfg.groupInstanceId ?? `abflow-${ctx.job}-${ctx.nodeId}`,
        autocommit: false,
        isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      });
      c.on('consumer:heartbeat:error', () => {
        if (c === consumer) coordinatorLost = true;
      });
      return c;
    };
    const closeConsumer = (c: ReturnType<typeof newConsumer>) => new Promise<void>((resolve) => c.close(true, () => resolve()));
    let consumer: ReturnType<typeof newConsumer> | undefined;
    /** Offset commits, as Flink's KafkaSource makes them: after each checkpoint, in the background, the newest
     * position superseding one not yet sent; a failed commit is a warning, not a failure (the checkpoint holds the
     * offsets, and a restore takes them from there), and the next read gets a client that finds the coordinator anew. */
    let toCommit: Position | null = null;
    let committing = false;
    let commits = Promise.resolve();
    let coordinatorLost = false;
    const commitLatest = async () => {
      for (let position = toCommit; position; position = toCommit) {
        toCommit = null;
        // Only partitions this member still owns: another member may have moved on from a revoked one.
        const mine = owned();
        const offsets = Object.entries(position.next)
          .filter(([tp]) => mine.has(tp))
          .map(([tp, o]) => ({ ...splitPartition(tp), offset: BigInt(o), leaderEpoch: -1 }));
        const client = consumer!;
        if (!offsets.length) continue;
        try {
          await client.commit({ offsets });
        } catch (e) {
          ctx.warn(`committing offsets to group '${cfg.groupId}' failed (${errorText(e)}); the checkpoint holds them and the next commit carries them`);
          // A client replaced meanwhile failed for being closed: the new one needs nothing.
          if (client === consumer) coordinatorLost = true;
        }
      }
    };
    /** `topic:partition` of the partitions the group gave this member. */
    const owned = () => new Set((consumer?.assignments ?? []).flatMap((a) => a.partitions.map((p) => `${a.topic}:${p}`)));
    const partitionIndex = (tp: string) => {
      let i = indexOf.get(tp);
      if (i === undefined) indexOf.set(tp, (i = partitions.push(tp) - 1));
      return i;
    };

    async function topicsToRead(): Promise<string[]> {
      if (cfg.topics) return cfg.topics;
      const admin = new Admin(options);
      try {
        const re = new RegExp(`^(?:${cfg.topicPattern!})$`);
        const topics = (await admin.listTopics()).filter((t) => re.test(t));
        if (!topics.length) throw new AbflowError('config', `'${ctx.nodeId}': no topic matches /${cfg.topicPattern}/`, { nodeId: ctx.nodeId });
        return topics;
      } finally {
        await admin.close();
      }
    }

    /** Where each partition of `topics` starts, explicitly (so a consumer restarted mid-read continues exactly):
     * the checkpoint's positions, else by `startFrom`. Partitions created later start at their beginning. */
    async function startOffsets(topics: string[], from: Position | undefined): Promise<Map<string, bigint>> {
      const { ListOffsetTimestamps } = kafkaLib();
      const listed = async (timestamp: bigint) => {
        const offsets = await consumer!.listOffsets({ topics, timestamp, isolationLevel: FetchIsolationLevels.READ_COMMITTED });
        return new Map([...offsets].flatMap(([topic, offs]) => offs.map((o, p) => [`${topic}:${p}`, o] as const)));
      };
      if (from) return new Map(Object.entries(from.next).map(([tp, o]) => [tp, BigInt(o)]));
      const fallback = await listed(cfg.resetTo === 'earliest' || cfg.startFrom === 'earliest' ? ListOffsetTimestamps.EARLIEST : ListOffsetTimestamps.LATEST);
      if (cfg.startFrom === 'earliest' || cfg.startFrom === 'latest') return fallback;
      if (typeof cfg.startFrom === 'object') {
        const at = Date.parse(cfg.startFrom.timestamp);
        if (Number.isNaN(at))
          throw new AbflowError('config', `'${ctx.nodeId}': startFrom.timestamp ${cfg.startFrom.timestamp} is not a time`, { nodeId: ctx.nodeId });
        // No message at or after the time: the partition's end.
        const after = await listed(BigInt(at));
        const latest = await listed(ListOffsetTimestamps.LATEST);
        return new Map([...latest].map(([tp, end]) => [tp, (after.get(tp) ?? -1n) >= 0n ? after.get(tp)! : end]));
      }
      // committed: read once here rather than by the client's `committed` mode, which goes back to the group's offsets
      // at every rejoin (a broker restart causes one): those trail the read position by up to a checkpoint, and the
      // messages in between would be read twice.
      const byTopic = new Map<string, number[]>();
      for (const tp of fallback.keys()) {
        const { topic, partition } = splitPartition(tp);
        byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
      }
      const committed = await consumer!.listCommittedOffsets({ topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) });
      for (const [topic, offs] of committed) offs.forEach((o, p) => o >= 0n && fallback.set(`${topic}:${p}`, o));
      return fallback;
    }

    return {
      describePosition(p) {
        const { topic, partition } = splitPartition(partitions[Math.floor(p / OFFSET_BITS)] ?? '?:-1');
        return `${topic}[${partition}]@${p % OFFSET_BITS}`;
      },
      async *read(from?: unknown): AsyncGenerator<SourceOutput> {
        /** Consecutive failures of the client without a message read in between. */
        let failures = 0;
        /** Runs `f`, and when it fails runs it again on a new client, `retryDelay` later, up to `retries` times in a
         * row: the client library retries only briefly, and keeps the group coordinator it found first even after it
         * moved (a broker failed), so a new client is what finds the cluster as it is now. */
        const persistently = async <T>(what: string, f: () => Promise<T>, failure?: unknown): Promise<T> => {
          for (let cause = failure; ;) {
            if (cause !== undefined) {
              if (++failures > cfg.retries) throw cause;
              ctx.warn(`${what} failed (${errorText(cause)}); trying again on a new connection (${failures} of ${cfg.retries})`);
              await ctx.clock.sleep(cfg.retryDelay);
              const old = consumer!;
              consumer = newConsumer();
              void closeConsumer(old);
            }
            try {
              return await f();
            } catch (e) {
              cause = e;
            }
          }
        };
        consumer = newConsumer();
        try {
          const { topics, ends } = await persistently('connecting', async () => {
            const topics = await topicsToRead();
            for (const [tp, o] of await startOffsets(topics, from as Position | undefined)) next.set(tp, o);
            const ends = cfg.bounded ? await consumer!.listOffsets({ topics, isolationLevel: FetchIsolationLevels.READ_COMMITTED }) : undefined;
            return { topics, ends };
          });
          /** A stream of messages from the next offset of every partition. */
          const consume = () =>
            consumer!.consume({
              topics,
              mode: 'manual',
              fallbackMode: 'earliest',
              offsets: [...next].map(([tp, offset]) => ({ ...splitPartition(tp), offset })),
              autocommit: false,
              maxWaitTime: cfg.maxWait,
              maxBytes: Math.max(cfg.maxMessageBytes * 2, 16 << 20),
              // Kafka's max.partition.fetch.bytes: each fetch brings a share of every partition, not one partition whole
              // (partitions read one after another would starve the others' event time and make them look idle).
              maxBytesPerPartition: 1 << 20,
            });
          let stream = await persistently('reading', consume);
          let wake = () => {};
          /** Resolves with the error that ends `stream`. */
          let broken: Promise<Error>;
          /** When each partition last gave a message, and when the stream was opened. */
          const lastRead = new Map<string, number>();
          let streamSince = ctx.clock.monotonic();
          /** A partition found behind its end though nothing came from it for STALL_MS with nothing left to read. */
          let stalled: string | null = null;
          const watch = () => {
            (stream as NodeJS.EventEmitter).on('readable', () => wake());
            broken = new Promise((resolve) => stream.once('error', resolve));
            streamSince = ctx.clock.monotonic();
          };
          watch();
          /** A stream that failed (its fetches gave up: a partition's leader is gone, the brokers cannot be reached)
           * or whose client lost the group coordinator is replaced: the new one continues from the next offsets. */
          const reopen = async (failure: unknown) => {
            await stream.close().catch(() => undefined);
            stream = await persistently('reading', consume, failure);
            watch();
          };
          /** How far a partition has been read: the next offset read or, once everything the stream fetched was read,
           * its fetch position. Transaction markers, aborted transactions' messages and offsets deleted by retention are
           * never delivered as messages, so a partition whose tail is one of those reaches its end only that way. A
           * broken stream's fetch position counts for nothing: what it fetched was dropped unread. */
          const drained = () => !stream.destroyed && stream.readableLength === 0;
          const positionOf = () => {
            const all = drained();
            return (tp: string) => {
              const read = next.get(tp) ?? -1n;
              const fetched = all ? (stream.offsetsToFetch.get(tp) ?? -1n) : -1n;
              return read > fetched ? read : fetched;
            };
          };
          /** Bounded reads: whether a partition this member owns is short of its end. */
          const unfinished = () => {
            const mine = owned();
            if (!mine.size) return true; // the group has not assigned partitions yet
            const position = positionOf();
            for (const [topic, offs] of ends!)
              for (let p = 0; p < offs.length; p++) if (mine.has(`${topic}:${p}`) && position(`${topic}:${p}`) < offs[p]!) return true;
            return false;
          };
          const meta = metadataFields(cfg);
          const eventTime = cfg.watermark ? new PartitionWatermarks(cfg.watermark.maxOutOfOrderness, cfg.watermark.idleTimeout, ctx.clock.monotonic()) : null;
          /** Idleness needs the log's end (see PartitionWatermarks): one look at a time, at most every LOOK_EVERY ms. */
          let looking = false;
          let lastLook = -Infinity;
          /** Also the stall check: a stream can stop fetching some partitions without failing (the client keeps
           * waiting on a fetch from a broker that died, or on a leader that moved), so a partition that is behind its
           * end yet sent nothing for STALL_MS while everything fetched was read gets a new stream. */
          const lookAtEnds = (quiet: ReadonlySet<string>, stuck: ReadonlySet<string>, at: number) => {
            if (looking || at - lastLook < LOOK_EVERY) return;
            looking = true;
            lastLook = at;
            const position = positionOf();
            const positions = new Map([...quiet, ...stuck].map((tp) => [tp, position(tp)]));
            consumer!
              .listOffsets({ topics, isolationLevel: FetchIsolationLevels.READ_COMMITTED })
              .then((latest) => {
                for (const [tp, pos] of positions) {
                  const { topic, partition } = splitPartition(tp);
                  const end = latest.get(topic)?.[partition];
                  if (end === undefined) continue;
                  if (pos >= end) eventTime?.reachedEnd(tp, at);
                  else if (stuck.has(tp)) stalled = tp;
                }
                wake();
              })
              // A broker that cannot be asked confirms nothing: the quiet partitions keep holding event time back.
              .catch(() => undefined)
              .finally(() => (looking = false));
          };
          for (;;) {
            if (coordinatorLost) {
              coordinatorLost = false;
              await reopen(new Error(`the coordinator of group '${cfg.groupId}' cannot be reached`));
            }
            if (stalled) {
              const tp = stalled;
              stalled = null;
              await reopen(new Error(`${tp} is behind its end, yet nothing came from it for ${STALL_MS / 1000} s`));
            }
            const started = ctx.clock.monotonic();
            const messages: {
              topic: string;
              partition: number;
              offset: bigint;
              key: Buffer | null;
              value: Buffer | null;
              timestamp: bigint;
              headers: Map<Buffer, Buffer>;
            }[] = [];
            while (messages.length < ctx.batchSize) {
              const m = stream.read() as (typeof messages)[number] | null;
              if (m) {
                messages.push(m);
                // At once: a stream replaced before this batch is out continues after it.
                next.set(`${m.topic}:${m.partition}`, m.offset + 1n);
                continue;
              }
              const left = (messages.length ? ctx.lingerMs : cfg.maxWait) - (ctx.clock.monotonic() - started);
              if (left <= 0 || (ends && !unfinished() && !messages.length)) break;
              const abort = new AbortController();
              const failure = await Promise.race([new Promise<void>((r) => (wake = r)), ctx.clock.sleep(left, abort.signal), broken!]).finally(() =>
                abort.abort(),
              );
              if (failure) await reopen(failure);
            }
            if (messages.length) failures = 0;
            const n = messages.length;
            const positions = new Float64Array(n);
            const texts: string[] = [];
            const lengths: number[] = [];
            const metaBuilders = meta.map((m) => new ColumnBuilder(METADATA[m], n));
            // The decoder's dead letters name each message's place; raw values have no decoder.
            const places = cfg.format === 'json' ? new ColumnBuilder('string', n) : null;
            const now = ctx.clock.monotonic();
            for (let i = 0; i < n; i++) {
              const m = messages[i]!;
              const tp = `${m.topic}:${m.partition}`;
              positions[i] = partitionIndex(tp) * OFFSET_BITS + Number(m.offset);
              places?.appendString(`${m.topic}[${m.partition}]@${m.offset}`);
              eventTime?.saw(tp, Number(m.timestamp), now);
              lastRead.set(tp, now);
              const v = m.value;
              if (cfg.format === 'json') {
                // A value over the limit keeps only its start: the decoder dead-letters it by its true length.
                texts.push(v ? v.toString('utf8', 0, Math.min(v.length, cfg.maxMessageBytes + 1)) : '');
                lengths.push(v ? v.length : NO_VALUE);
              } else texts.push(v ? v.toString('base64') : '\0');
              meta.forEach((f, k) => {
                const b = metaBuilders[k]!;
                if (f === 'topic') b.appendString(m.topic);
                else if (f === 'partition' || f === 'offset') b.appendNumber(f === 'partition' ? m.partition : Number(m.offset));
                else if (f === 'timestamp') b.appendNumber(Number(m.timestamp));
                else if (f === 'key') m.key ? b.appendString(m.key.toString('utf8')) : b.appendNull();
                else b.appendString(JSON.stringify(Object.fromEntries([...m.headers].map(([hk, hv]) => [hk.toString(), hv.toString()]))));
              });
            }
            const metaData = metaBuilders.map((b) => b.finish());
            const resumeAfter: Position = { next: Object.fromEntries([...next].map(([tp, o]) => [tp, o.toString()])) };
            const mine = owned();
            const quiet = new Set(eventTime?.silent(mine, now));
            const stuck = new Set(drained() ? [...mine].filter((tp) => now - Math.max(lastRead.get(tp) ?? -Infinity, streamSince) >= STALL_MS) : []);
            if (quiet.size || stuck.size) lookAtEnds(quiet, stuck, now);
            const watermark = eventTime?.current(mine, now);
            const time = watermark === undefined ? {} : { watermark };
            if (cfg.format === 'json') {
              const cols = [...messageColumns(texts, lengths), ...metaData, places!.finish()];
              yield { batch: makeBatch(decoderInput(cfg), cols, n), positions, resumeAfter, ...time };
            } else {
              const value = new ColumnBuilder('string', n);
              for (const t of texts) t === '\0' ? value.appendNull() : value.appendString(t);
              yield { batch: makeBatch(ctx.outputs.out!, [value.finish(), ...metaData], n), positions, resumeAfter, ...time };
            }
            if (ends && !unfinished()) return;
          }
        } catch (e) {
          throw kafkaError(e, 'source_io', ctx.nodeId, cfg, 'reading');
        }
      },
      async close() {
        // The consumer outlives the read: the last checkpoint's offsets are committed through it.
        await commits;
        if (consumer) await closeConsumer(consumer);
      },
      committed(at) {
        const position = at as Position | null;
        if (!position || !consumer) return;
        toCommit = position;
        if (!committing) {
          committing = true;
          commits = commitLatest().finally(() => (committing = false));
        }
      },
    };
  },
});

/** `topic:partition`, the key partitions go by (in checkpoints too), split back; topics may contain ':'. */
function splitPartition(tp: string): { topic: string; partition: number } {
  const cut = tp.lastIndexOf(':');
  return { topic: tp.slice(0, cut), partition: Number(tp.slice(cut + 1)) };
}

/** Per-partition event time (Flink's per-split watermarks): each partition's newest timestamp bounds its own
 * watermark, and the source's is the smallest over the partitions it owns that are not idle, so a partition that lags
 * behind holds event time back instead of having its messages dropped as late. A partition that has sent nothing yet
 * counts from the start of the read.
 *
 * Idle means quiet *and at its end*: silence alone also describes a partition the consumer cannot fetch (a broker
 * restarting, a leader moving, fetches starved by backpressure), and declaring it idle then lets the others carry event
 * time past messages it still holds, which would arrive late and leave the windows. So a silent partition is idle
 * only once a look at the log's end, taken after its last message, found nothing left to read (`reachedEnd`). */
export class PartitionWatermarks {
  private readonly newest = new Map<string, number>();
  private readonly lastSeen = new Map<string, number>();
  private readonly atEndSince = new Map<string, number>();

  constructor(
    private readonly maxOutOfOrderness: number,
    private readonly idleTimeout: number | undefined,
    private readonly startedAt: number,
  ) {}

  saw(partition: string, timestamp: number, now: number): void {
    if (timestamp > (this.newest.get(partition) ?? -Infinity)) this.newest.set(partition, timestamp);
    this.lastSeen.set(partition, now);
  }

  /** The read position of `partition`, taken at `at`, was found at the end of its log. */
  reachedEnd(partition: string, at: number): void {
    this.atEndSince.set(partition, at);
  }

  /** Partitions silent for idleTimeout whose end has not been confirmed since their last message: the source looks. */
  silent(partitions: ReadonlySet<string>, now: number): string[] {
    return [...partitions].filter((p) => this.quiet(p, now) && !this.confirmedAtEnd(p));
  }

  /** The watermark over `partitions` now; undefined while one of them has none yet, or all are idle. */
  current(partitions: ReadonlySet<string>, now: number): number | undefined {
    let min = Infinity;
    for (const p of partitions) {
      if (this.quiet(p, now) && this.confirmedAtEnd(p)) continue;
      const newest = this.newest.get(p);
      if (newest === undefined) return undefined;
      min = Math.min(min, boundedWatermark(newest, this.maxOutOfOrderness));
    }
    return min === Infinity ? undefined : min;
  }

  private quiet(p: string, now: number): boolean {
    return this.idleTimeout !== undefined && now - this.since(p) >= this.idleTimeout;
  }

  private confirmedAtEnd(p: string): boolean {
    return (this.atEndSince.get(p) ?? -Infinity) >= this.since(p);
  }

  private since(p: string): number {
    return this.lastSeen.get(p) ?? this.startedAt;
  }
}

/** The raw batches a json source sends its decoder: the text and byte length of each value, then the metadata. */
function decoderInput(cfg: Config) {
  return new Schema([...LINES_SCHEMA.fields, ...schemaOf({ ...metadataColumns(cfg), [PLACE]: 'string' }).fields]);
}
