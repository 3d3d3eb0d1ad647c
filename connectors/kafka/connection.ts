/** Kafka connection settings shared by the `kafka` source and sink, and the client library (@platformatic/kafka:
 * pure JavaScript, maintained, transactions and consumer groups over Kafka's own protocol, no native build). */
import { AbflowError, lazyRequire, z } from '../../engine/api.js';

type KafkaLib = typeof import('@platformatic/kafka');
const loadKafka = lazyRequire<KafkaLib>(import.meta.url, '@platformatic/kafka');
let fixed = false;

/** The client library, with two faults of its 1.x line corrected (2.x fixes them but needs Node.js 22; until abflow
 * does, the corrections are installed here): its response reader (see `readTaggedFields`), and connections to a
 * broker that left the cluster (see `unknownBrokerFails`). */
export const kafkaLib = (): KafkaLib => {
  const lib = loadKafka();
  if (!fixed) {
    lib.Reader.prototype.readTaggedFields = readTaggedFields;
    const pool = lib.ConnectionPool.prototype as unknown as { get: PoolGet };
    pool.get = unknownBrokerFails(pool.get, lib.NetworkError);
    fixed = true;
  }
  return lib;
};

/** ConnectionPool.get, both forms: with a callback, or returning a promise. */
type PoolGet = (this: unknown, broker: unknown, callback?: (error: Error | null, connection?: unknown) => void) => unknown;

/** A consumer remembers its group coordinator by broker id; once that broker has failed it is missing from the
 * metadata, and 1.x throws a TypeError from a timer callback when asked to connect to it (the process dies). Failing
 * the request with a retriable network error instead lets the operation fail as any unreachable broker does: the
 * source then replaces its client, which finds the new coordinator. */
export function unknownBrokerFails(get: PoolGet, NetworkError: new (message: string) => Error): PoolGet {
  return function (this: unknown, broker, callback) {
    if (broker) return get.call(this, broker, callback);
    const error = new NetworkError('the broker is no longer in the cluster metadata (it failed or left)');
    if (!callback) return Promise.reject(error);
    callback(error);
  };
}

/** A tagged-field section as Kafka's protocol defines it: a count, then (tag, size, data) per field. @platformatic/kafka
 * 1.x takes the count for a byte length, so a response carrying any tagged field fails to parse ("Out of bounds"), and
 * does again on every retry: a broker answering a fetch with FENCED_LEADER_EPOCH or NOT_LEADER_OR_FOLLOWER sends the
 * current leader as one (KIP-951), which is what a consumer meets after a broker restart. */
export function readTaggedFields(this: InstanceType<KafkaLib['Reader']>): void {
  const fields = this.readUnsignedVarInt();
  for (let i = 0; i < fields; i++) {
    this.readUnsignedVarInt(); // tag
    this.skip(this.readUnsignedVarInt());
  }
}

export const connectionConfig = {
  bootstrapServers: z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
    .default('127.0.0.1:9092')
    .describe('host:port of one or more brokers (a list, or comma-separated).'),
  clientId: z.string().min(1).optional().describe('Client id the brokers see (default: abflow-<node id>).'),
  tls: z.boolean().default(false).describe('Connect over TLS (system CAs).'),
  sasl: z
    .object({
      mechanism: z.enum(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']),
      username: z.string().min(1),
      passwordEnv: z.string().min(1).describe('Environment variable holding the password.'),
    })
    .strict()
    .optional()
    .describe('SASL authentication; the password is read from the environment, never from the plan.'),
  retries: z
    .number()
    .int()
    .min(0)
    .default(60)
    .describe('Retries of a failed request (a broker restarting, a leader moving) before the job fails: with retryDelay, the outage ridden out.'),
  retryDelay: z.number().int().min(0).default(1000).describe('Milliseconds between retries.'),
};

export interface ConnectionConfig {
  bootstrapServers: string | string[];
  clientId?: string | undefined;
  tls: boolean;
  sasl?: { mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; username: string; passwordEnv: string } | undefined;
  retries: number;
  retryDelay: number;
}

export function brokersOf(cfg: ConnectionConfig): string[] {
  return (Array.isArray(cfg.bootstrapServers) ? cfg.bootstrapServers : cfg.bootstrapServers.split(',')).map((s) => s.trim()).filter(Boolean);
}

/** The options every client of this node shares. */
export function clientOptions(cfg: ConnectionConfig, nodeId: string) {
  let sasl: { mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; username: string; password: string } | undefined;
  if (cfg.sasl) {
    const password = process.env[cfg.sasl.passwordEnv];
    if (password === undefined) throw new AbflowError('config', `'${nodeId}': environment variable ${cfg.sasl.passwordEnv} is not set`, { nodeId });
    sasl = { mechanism: cfg.sasl.mechanism, username: cfg.sasl.username, password };
  }
  return {
    clientId: cfg.clientId ?? `abflow-${nodeId}`,
    bootstrapBrokers: brokersOf(cfg),
    retries: cfg.retries,
    retryDelay: cfg.retryDelay,
    ...(cfg.tls ? { tls: {} } : {}),
    ...(sasl ? { sasl } : {}),
  };
}

/** An error's message with those of the errors it wraps (the client library nests the broker's answers). */
export function errorText(e: unknown): string {
  const err = e as Error & { errors?: unknown[] };
  const inner = Array.isArray(err?.errors) ? err.errors.map(errorText).filter(Boolean) : [];
  return [String(err?.message ?? e), ...inner].join(': ');
}

/** A client error as the job reports it: external (the cluster), naming the node and the brokers. */
export function kafkaError(e: unknown, code: 'source_io' | 'sink_io', nodeId: string, cfg: ConnectionConfig, what: string): AbflowError {
  if (e instanceof AbflowError) return e;
  return new AbflowError(code, `'${nodeId}': ${what} (Kafka at ${brokersOf(cfg).join(',')}): ${errorText(e)}`, { domain: 'external', nodeId, cause: e });
}
