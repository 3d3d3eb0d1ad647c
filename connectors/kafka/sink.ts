/**
 * `kafka` sink: publishes each row as a JSON message (the row, or a template), keyed by an expression, to a topic
 * (or a topic template), partitioned by the key's murmur2 hash as Java clients do (or by an explicit partition
 * expression), with headers and compression.
 *
 * `deliveryGuarantee`:
 * - `exactly_once`: Kafka transactions bound to abflow's checkpoints, as Flink's KafkaSink does with
 *   DeliveryGuarantee.EXACTLY_ONCE. The rows between two barriers go into one transaction (transactional id
 *   `<prefix>-<checkpoint id>`: stable across restarts); at the barrier it is flushed (pre-committed), and committed
 *   once the checkpoint is durable. Readers with isolation.level=read_committed see each row once. On restart the
 *   transaction of the checkpoint the job resumes from is committed if the crash came before its commit, and later
 *   ones are aborted. Keep `transactionTimeout` above the checkpoint interval plus the longest outage to ride out:
 *   the broker aborts older open transactions (and caps the timeout at its transaction.max.timeout.ms, 15 min).
 * - `at_least_once` (default): an idempotent producer; every send is acknowledged by all in-sync replicas before the
 *   checkpoint completes, so a restart may repeat rows, never lose them.
 * - `none`: acknowledged by the leader only, not awaited at checkpoints: fastest, may lose rows on failure.
 */
import {
  AbflowError,
  cellValue,
  type ColumnType,
  compileExpression,
  compileJsonTemplate,
  compileTemplate,
  defineSink,
  duration,
  evalContext,
  type ExprNode,
  type JsonTemplate,
  type RecordBatch,
  render,
  rowObject,
  vecToData,
  z,
} from '../../engine/api.js';
import zlib from 'node:zlib';
import { clientOptions, connectionConfig, errorText, kafkaError, kafkaLib } from './connection.js';
import { NOT_COORDINATOR, TransactionAdmin } from './transactions.js';

const config = z
  .object({
    ...connectionConfig,
    topic: z.string().min(1).describe('Topic, or a template such as "alerts.{{region}}".'),
    key: z.string().min(1).optional().describe("Expression giving each message's key, e.g. `customer_id` (default: no key)."),
    partition: z.string().min(1).optional().describe('Expression giving the partition (default: murmur2 hash of the key, round robin without one).'),
    headers: z.record(z.string().min(1), z.string()).default({}).describe('Header name → template, e.g. `source: "abflow"`.'),
    value: z.unknown().optional().describe('JSON message template (default: the row as a JSON object).'),
    compression: z.enum(['none', 'gzip', 'snappy', 'lz4', 'zstd']).default('none').describe('Compression of message batches (zstd needs Node.js 22.15+).'),
    deliveryGuarantee: z
      .enum(['exactly_once', 'at_least_once', 'none'])
      .default('at_least_once')
      .describe('exactly_once (transactions bound to checkpoints; needs engine.checkpoint), at_least_once, or none.'),
    transactionalIdPrefix: z
      .string()
      .min(1)
      .optional()
      .describe('exactly_once: prefix of the transactional ids, unique per sink and stable across restarts (default: abflow-<plan>-<node id>).'),
    transactionTimeout: duration().default(900_000).describe('exactly_once: how long the broker keeps a transaction open before aborting it.'),
  })
  .strict();

type Config = z.output<typeof config>;

const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));

interface Message {
  topic: string;
  key?: Buffer;
  value: Buffer;
  partition?: number;
  headers?: Map<Buffer, Buffer>;
}

/** An expression whose type is a column type (a bare `null` has none). */
function typed(node: ExprNode, path: string): ExprNode & { type: ColumnType } {
  if (node.type === 'null') throw new AbflowError('expression_type', `${path} is always null`, { path: [path] });
  return node as ExprNode & { type: ColumnType };
}

/** Closes a producer without waiting for streams (its sends were awaited or are abandoned). */
const closeProducer = (p: { close(force: boolean, cb: (e?: Error | null) => void): void }) => new Promise<void>((resolve) => p.close(true, () => resolve()));

function messageBuilder(cfg: Config, input: Parameters<typeof compileTemplate>[1]) {
  const topic = compileTemplate(cfg.topic, input, ['topic']);
  const key = cfg.key === undefined ? null : typed(compileExpression(cfg.key, input).root, 'key');
  const partition = cfg.partition === undefined ? null : typed(compileExpression(cfg.partition, input).root, 'partition');
  if (partition && !['int32', 'int64'].includes(partition.type))
    throw new AbflowError('expression_type', `partition must be an integer, got ${partition.type}`, { path: ['partition'] });
  const headers = Object.entries(cfg.headers).map(([name, t]) => [name, compileTemplate(t, input, ['headers', name])] as const);
  const value: JsonTemplate = cfg.value === undefined ? (row) => row : compileJsonTemplate(cfg.value, input, ['value'], new Set());
  return (batch: RecordBatch): Message[] => {
    const n = batch.numRows;
    const ectx = evalContext(batch);
    const keys = key ? vecToData(key.eval(ectx), key.type, n) : null;
    const parts = partition ? vecToData(partition.eval(ectx), partition.type, n) : null;
    const out: Message[] = new Array<Message>(n);
    for (let i = 0; i < n; i++) {
      const row = rowObject(batch, i);
      const m: Message = { topic: render(topic, row), value: Buffer.from(json(value(row))) };
      const k = keys ? cellValue(keys, i) : null;
      if (k !== null) m.key = Buffer.from(typeof k === 'string' ? k : json(k));
      const p = parts ? cellValue(parts, i) : null;
      if (p !== null) m.partition = Number(p);
      // A Map: the client library mishandles plain-object headers in transactions (the send never completes).
      if (headers.length) m.headers = new Map(headers.map(([h, t]) => [Buffer.from(h), Buffer.from(render(t, row))]));
      out[i] = m;
    }
    return out;
  };
}

export const kafkaSink = defineSink({
  kind: 'kafka',
  summary: 'Publishes rows as JSON messages to Kafka: exactly once with transactions bound to checkpoints, or at least once.',
  config,
  examples: [
    {
      title: 'Enriched orders back to Kafka, exactly once',
      yaml: 'id: enriched_out\nkind: kafka\ninputs: [enriched]\nconfig:\n  bootstrapServers: broker1:9092\n  topic: orders.enriched\n  key: order_id\n  deliveryGuarantee: exactly_once\n  compression: lz4',
    },
  ],
  display: (cfg) => ({ topic: cfg.topic, guarantee: cfg.deliveryGuarantee }),
  check(cfg, [input]) {
    messageBuilder(cfg, input!);
    // zstd comes from node:zlib, which has it from Node 22.15 on.
    if (cfg.compression === 'zstd' && typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync !== 'function')
      throw new AbflowError('config', `zstd compression needs Node.js 22.15 or later (this is ${process.version}); use lz4, snappy or gzip`, {
        path: ['compression'],
      });
  },
  create(cfg, ctx) {
    const { Producer, compatibilityPartitioner, ProduceAcks } = kafkaLib();
    const build = messageBuilder(cfg, ctx.inputs[0]!);
    const eos = cfg.deliveryGuarantee === 'exactly_once';
    if (eos && !ctx.checkpointing?.durable)
      throw new AbflowError('config', `'${ctx.nodeId}': deliveryGuarantee exactly_once binds transactions to checkpoints; set engine.checkpoint`, {
        nodeId: ctx.nodeId,
        path: ['deliveryGuarantee'],
      });
    const prefix = cfg.transactionalIdPrefix ?? `abflow-${ctx.job}-${ctx.nodeId}`;
    const options = {
      ...clientOptions(cfg, ctx.nodeId),
      // A new producer for its transactional id (InitProducerId with -1/-1): it fences and aborts whatever an earlier
      // holder of the id left open. The library's default (0/0) claims to be producer 0 and is itself fenced.
      producerId: -1n,
      producerEpoch: -1,
      compression: cfg.compression,
      // Java clients' partitioner (murmur2, sign bit cleared), so abflow and Java producers agree on a key's partition.
      partitioner: compatibilityPartitioner,
    };
    const fail = (e: unknown, what: string) => kafkaError(e, 'sink_io', ctx.nodeId, cfg, what);
    type KafkaProducer = InstanceType<typeof Producer>;
    type Txn = Awaited<ReturnType<KafkaProducer['beginTransaction']>>;
    interface Open {
      readonly transactionalId: string;
      readonly producer: KafkaProducer;
      readonly txn: Txn;
      /** What the epoch sent so far: written again in a new transaction if this one's coordinator moves. */
      readonly sent: Message[][];
    }
    /** exactly_once: the epoch being written (rows up to barrier `epoch`), its transaction, and pre-committed ones. */
    let epoch = ctx.checkpointing?.firstId ?? 1;
    let current: Open | null = null;
    const pending = new Map<number, Open>();
    let plain: KafkaProducer | null = null;
    let admin: TransactionAdmin | null = null;

    /** A producer with the epoch's transaction begun. The client library keeps the transaction coordinator it found
     * first: one that answers NOT_COORDINATOR (it moved: its broker failed) would be retried in vain, so the producer
     * is closed at once, which ends its retries, and a new one looks the coordinator up again. */
    const begin = async (): Promise<Open> => {
      const transactionalId = `${prefix}-${epoch}`;
      for (let attempt = 1; ; attempt++) {
        let moved = false;
        const producer = new Producer({
          ...options,
          idempotent: true,
          acks: ProduceAcks.ALL,
          transactionalId,
          timeout: cfg.transactionTimeout,
          retryDelay: (client, _operation, _attempt, _retries, error) => {
            if (NOT_COORDINATOR.test(errorText(error))) {
              moved = true;
              // Once the library has armed this retry: closing then cancels it at once.
              setImmediate(() => void closeProducer(client as KafkaProducer));
            }
            return cfg.retryDelay;
          },
        });
        try {
          return { transactionalId, producer, txn: await producer.beginTransaction(), sent: [] };
        } catch (e) {
          await closeProducer(producer);
          if (!moved || attempt > cfg.retries) throw e;
          await ctx.clock.sleep(cfg.retryDelay);
        }
      }
    };

    /** Ends a transaction through its coordinator as found at each attempt, not through its producer: the client
     * library keeps the coordinator it found when the transaction began, and one that moved since (its broker failed)
     * answers NOT_COORDINATOR to every retry. */
    const end = async (t: Open, commit: boolean) => {
      await admin!.end(t.transactionalId, { producerId: t.producer.producerId!, producerEpoch: t.producer.producerEpoch! }, commit);
      await closeProducer(t.producer);
    };

    /** Sends into the epoch's transaction. When its coordinator moved (a broker failed) the transaction cannot go on
     * in this producer: it is aborted, and the epoch's messages so far go again into a new one under the same id, up
     * to `retries` times. Flink fails the task instead; abflow has no restart of its own, so the sink rides it out. */
    const sendInTransaction = async (messages: Message[]) => {
      for (let attempt = 1; ; attempt++) {
        try {
          if (attempt === 1) await current!.txn.send({ messages });
          else for (const earlier of current!.sent) await current!.txn.send({ messages: earlier });
          return;
        } catch (e) {
          if (!NOT_COORDINATOR.test(errorText(e)) || attempt > cfg.retries) throw e;
          const moved = current!;
          await end(moved, false).catch(() => closeProducer(moved.producer));
          current = await begin();
          current.sent.push(...moved.sent);
        }
      }
    };

    /** After a restart: the transactions of epochs up to the last complete checkpoint that were pre-committed but not
     * committed are committed (also when that checkpoint finished its run: this run starts afresh, but its sinks'
     * commit may have been cut short); those of later epochs (up to this run's first, and the 16 checkpoints that may have
     * been in flight after it) are aborted, whether or not this run will use their ids again (a transaction left open
     * holds back every read_committed reader). Transactions are named by the checkpoint they belong to, so this
     * run's first is `firstId`, not always `lastComplete + 1`. One DescribeTransactions per coordinator asks about all. */
    const recover = async (transactions: TransactionAdmin, lastComplete: number | null, firstId: number) => {
      const upTo = lastComplete ?? 0;
      const epochs: number[] = [];
      for (let e = Math.max(1, upTo - 16); e <= Math.max(upTo, firstId - 1) + 17; e++) epochs.push(e);
      const states = await transactions.describe(epochs.map((e) => `${prefix}-${e}`));
      for (const e of epochs) {
        const s = states.get(`${prefix}-${e}`);
        if (s?.state === 'Ongoing') await transactions.end(`${prefix}-${e}`, s, e <= upTo);
      }
    };

    /** Aborts what is open and lets go of the clients. */
    const release = async () => {
      for (const t of [...pending.values(), ...(current ? [current] : [])]) await end(t, false).catch(() => closeProducer(t.producer));
      pending.clear();
      current = null;
      admin?.close();
      if (plain) await closeProducer(plain);
    };

    return {
      async open() {
        try {
          if (eos) {
            admin = new TransactionAdmin(cfg, ctx.nodeId, (ms) => ctx.clock.sleep(ms));
            await recover(admin, ctx.checkpointing!.lastComplete, ctx.checkpointing!.firstId);
          } else
            plain = new Producer({
              ...options,
              idempotent: cfg.deliveryGuarantee === 'at_least_once',
              acks: cfg.deliveryGuarantee === 'none' ? ProduceAcks.LEADER : ProduceAcks.ALL,
            });
        } catch (e) {
          throw fail(e, 'recovering transactions');
        }
      },
      async write(batch) {
        const messages = build(batch);
        try {
          if (!eos) {
            await plain!.send({ messages });
            return;
          }
          current ??= await begin();
          current.sent.push(messages);
          await sendInTransaction(messages);
        } catch (e) {
          throw fail(e, `writing to ${cfg.topic}`);
        }
      },
      async preCommit(id) {
        // Every send of the epoch was acknowledged in `write`: the transaction is flushed, ready to commit.
        if (eos && current) {
          current.sent.length = 0; // nothing more goes into it
          pending.set(id, current);
        }
        current = null;
        epoch = id + 1;
      },
      async commit(id) {
        for (const [e, t] of [...pending].sort((a, b) => a[0] - b[0])) {
          if (e > id) break;
          try {
            await end(t, true);
          } catch (err) {
            throw fail(err, `committing transaction ${t.transactionalId}`);
          }
          pending.delete(e);
        }
      },
      async close() {
        // With checkpoints the last one committed everything; a transaction begun after it holds no rows.
        await release();
      },
      async abort() {
        await release();
      },
    };
  },
});
