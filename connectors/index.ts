/**
 * The built-in sources, sinks and their decoders: the single registration point for connectors.
 */
import type { AnySpec } from '../engine/api.js';
import { airbyteDecode } from './airbyte/decode.js';
import { airbyteDestination } from './airbyte/destination-sink.js';
import { airbyteFile } from './airbyte/file-source.js';
import { airbyteSource } from './airbyte/source.js';
import { postgresCdc } from './postgres/cdc-source.js';
import { postgres } from './postgres/sink.js';
import { blackhole } from './blackhole/sink.js';
import { consoleSink } from './console/sink.js';
import { duckdb } from './duckdb/sink.js';
import { generate } from './generate/source.js';
import { jsonDecode } from './jsonl/decode.js';
import { jsonlSink } from './jsonl/sink.js';
import { parquet } from './parquet/sink.js';
import { jsonl } from './jsonl/source.js';
import { webhookSink } from './http/webhook-sink.js';
import { httpWritebackSink } from './http/writeback-sink.js';
import { webhookSource } from './http/webhook-source.js';
import { approvalQueueSink } from './http/approval-sink.js';
import { grpcSink } from './grpc/sink.js';
import { grpcSource } from './grpc/source.js';
import { redisSink } from './redis/sink.js';
import { natsSink } from './nats/sink.js';
import { natsSource } from './nats/source.js';
import { kafkaSource } from './kafka/source.js';
import { kafkaSink } from './kafka/sink.js';

export const builtinSources = [generate, jsonl, airbyteFile, airbyteSource, postgresCdc, natsSource, kafkaSource, webhookSource, grpcSource] as const;
export const builtinSinks = [
  duckdb,
  postgres,
  parquet,
  jsonlSink,
  consoleSink,
  blackhole,
  airbyteDestination,
  webhookSink,
  httpWritebackSink,
  redisSink,
  natsSink,
  kafkaSink,
  approvalQueueSink,
  grpcSink,
] as const;
/** Operators that decode raw source bytes; the compiler inserts them after their sources. */
export const builtinDecoders = [jsonDecode, airbyteDecode] as const;

export const abflowComponents: readonly AnySpec[] = [...builtinSources, ...builtinSinks, ...builtinDecoders];
