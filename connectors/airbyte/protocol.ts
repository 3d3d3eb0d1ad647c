/**
 * The Airbyte protocol's messages (airbyte-protocol 0.18, `airbyte_protocol.yaml`) as zod schemas. Every object is
 * loose: unknown keys are kept, as the protocol requires. Messages are validated on input; output never re-encodes
 * a message abflow did not create: STATE lines are passed on as their original text, with only the stats member
 * spliced in (raw-json.ts), so opaque state blobs and big numbers stay byte-identical.
 */
import { z } from '../../engine/api.js';

const blob = z.unknown();

const streamDescriptor = z.looseObject({ name: z.string(), namespace: z.string().nullish() });

const metaChange = z.looseObject({
  field: z.string(),
  change: z.enum(['NULLED', 'TRUNCATED']),
  reason: z.string(),
});
export type MetaChange = z.output<typeof metaChange>;
const recordMeta = z.looseObject({ changes: z.array(metaChange).optional() });

const recordMessage = z.looseObject({
  stream: z.string(),
  namespace: z.string().nullish(),
  data: z.record(z.string(), z.unknown()),
  emitted_at: z.number(),
  meta: z.lazy(() => recordMeta).nullish(),
  file_reference: z
    .looseObject({ staging_file_url: z.string().optional(), source_file_relative_path: z.string().optional(), file_size_bytes: z.number().optional() })
    .nullish(),
});

const stateStats = z.looseObject({ recordCount: z.number().optional(), rejectedRecordCount: z.number().optional() });
const streamState = z.looseObject({ stream_descriptor: streamDescriptor, stream_state: blob.optional() });

const stateMessage = z.looseObject({
  type: z.enum(['GLOBAL', 'STREAM', 'LEGACY']).optional(),
  stream: streamState.nullish(),
  global: z.looseObject({ shared_state: blob.optional(), stream_states: z.array(streamState).optional() }).nullish(),
  data: blob.optional(),
  sourceStats: stateStats.nullish(),
  destinationStats: stateStats.nullish(),
});
export type StateMessage = z.output<typeof stateMessage>;

const logMessage = z.looseObject({
  level: z.enum(['FATAL', 'ERROR', 'WARN', 'INFO', 'DEBUG', 'TRACE']),
  message: z.string(),
  stack_trace: z.string().nullish(),
});

const traceMessage = z.looseObject({
  type: z.enum(['ERROR', 'ESTIMATE', 'STREAM_STATUS', 'ANALYTICS']),
  emitted_at: z.number(),
  error: z
    .looseObject({
      message: z.string(),
      internal_message: z.string().nullish(),
      stack_trace: z.string().nullish(),
      failure_type: z.enum(['system_error', 'config_error', 'transient_error']).nullish(),
      stream_descriptor: streamDescriptor.nullish(),
    })
    .nullish(),
  estimate: z
    .looseObject({
      name: z.string(),
      type: z.enum(['STREAM', 'SYNC']),
      namespace: z.string().nullish(),
      row_estimate: z.number().nullish(),
      byte_estimate: z.number().nullish(),
    })
    .nullish(),
  stream_status: z
    .looseObject({
      stream_descriptor: streamDescriptor,
      status: z.enum(['STARTED', 'RUNNING', 'COMPLETE', 'INCOMPLETE']),
      reasons: z.array(z.looseObject({ type: z.string() })).nullish(),
    })
    .nullish(),
  analytics: z.looseObject({ type: z.string(), value: z.unknown().optional() }).nullish(),
});
export type TraceMessage = z.output<typeof traceMessage>;

const connectionStatus = z.looseObject({ status: z.enum(['SUCCEEDED', 'FAILED']), message: z.string().nullish() });

export const airbyteStream = z.looseObject({
  name: z.string(),
  // Minimal configured catalogs leave the schema out: the stream is schemaless.
  json_schema: z.record(z.string(), z.unknown()).default({}),
  supported_sync_modes: z.array(z.enum(['full_refresh', 'incremental'])).optional(),
  source_defined_cursor: z.boolean().nullish(),
  default_cursor_field: z.array(z.string()).nullish(),
  source_defined_primary_key: z.array(z.array(z.string())).nullish(),
  namespace: z.string().nullish(),
  is_resumable: z.boolean().nullish(),
  is_file_based: z.boolean().nullish(),
});

export const configuredStream = z.looseObject({
  stream: airbyteStream,
  sync_mode: z.enum(['full_refresh', 'incremental']).default('full_refresh'),
  destination_sync_mode: z.enum(['append', 'overwrite', 'append_dedup', 'update', 'soft_delete', 'overwrite_dedup']).default('append'),
  cursor_field: z.array(z.string()).nullish(),
  primary_key: z.array(z.array(z.string())).nullish(),
  generation_id: z.number().int().nullish(),
  minimum_generation_id: z.number().int().nullish(),
  sync_id: z.number().int().nullish(),
  destination_object_name: z.string().nullish(),
  include_files: z.boolean().nullish(),
});
export type ConfiguredStream = z.output<typeof configuredStream>;

const catalogMessage = z.looseObject({ streams: z.array(airbyteStream) });

const controlMessage = z.looseObject({
  type: z.enum(['CONNECTOR_CONFIG']),
  emitted_at: z.number(),
  connectorConfig: z.looseObject({ config: z.record(z.string(), z.unknown()) }).nullish(),
});

const specMessage = z.looseObject({ connectionSpecification: z.record(z.string(), z.unknown()) });

const destinationCatalog = z.looseObject({ operations: z.array(z.looseObject({ object_name: z.string(), sync_mode: z.string(), json_schema: z.unknown() })) });

/** Message type → the member holding its payload and the payload's schema. */
export const PAYLOADS = {
  RECORD: ['record', recordMessage],
  STATE: ['state', stateMessage],
  LOG: ['log', logMessage],
  SPEC: ['spec', specMessage],
  CONNECTION_STATUS: ['connectionStatus', connectionStatus],
  CATALOG: ['catalog', catalogMessage],
  TRACE: ['trace', traceMessage],
  CONTROL: ['control', controlMessage],
  DESTINATION_CATALOG: ['destination_catalog', destinationCatalog],
} as const;
type MessageType = keyof typeof PAYLOADS;

export type AirbyteMessage =
  | { type: 'RECORD'; record: z.output<typeof recordMessage> }
  | { type: 'STATE'; state: StateMessage }
  | { type: 'LOG'; log: z.output<typeof logMessage> }
  | { type: 'SPEC'; spec: z.output<typeof specMessage> }
  | { type: 'CONNECTION_STATUS'; connectionStatus: z.output<typeof connectionStatus> }
  | { type: 'CATALOG'; catalog: z.output<typeof catalogMessage> }
  | { type: 'TRACE'; trace: TraceMessage }
  | { type: 'CONTROL'; control: z.output<typeof controlMessage> }
  | { type: 'DESTINATION_CATALOG'; destination_catalog: z.output<typeof destinationCatalog> };

/** A line that is not a valid AirbyteMessage, and why. */
export class InvalidMessage {
  constructor(readonly reason: string) {}
}

/** Parses and validates one protocol line. Unknown keys are kept; an unknown `type` is invalid. */
export function parseMessage(text: string): AirbyteMessage | InvalidMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return new InvalidMessage(`invalid JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return new InvalidMessage('not a JSON object');
  const type = (raw as { type?: unknown }).type;
  if (typeof type !== 'string' || !(type in PAYLOADS)) return new InvalidMessage(`not an AirbyteMessage: "type" is ${JSON.stringify(type) ?? 'missing'}`);
  if (type === 'RECORD') {
    // The hot path: checked by hand (a zod parse per record would cost more than the JSON parse).
    const r = (raw as { record?: Record<string, unknown> }).record;
    const bad =
      typeof r !== 'object' || r === null
        ? 'record: expected an object'
        : typeof r.stream !== 'string'
          ? 'record.stream: expected a string'
          : typeof r.data !== 'object' || r.data === null || Array.isArray(r.data)
            ? 'record.data: expected an object'
            : typeof r.emitted_at !== 'number'
              ? 'record.emitted_at: expected a number'
              : r.namespace != null && typeof r.namespace !== 'string'
                ? 'record.namespace: expected a string'
                : r.meta != null && (typeof r.meta !== 'object' || !recordMeta.safeParse(r.meta).success)
                  ? 'record.meta: expected {changes: [{field, change, reason}]}'
                  : null;
    return bad ? new InvalidMessage(`RECORD message: ${bad}`) : (raw as AirbyteMessage);
  }
  const [member, schema] = PAYLOADS[type as MessageType];
  const checked = (schema as z.ZodType).safeParse((raw as Record<string, unknown>)[member]);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    return new InvalidMessage(`${type} message: ${[member, ...issue.path].join('.')}: ${issue.message}`);
  }
  return { ...(raw as object), type, [member]: checked.data } as AirbyteMessage;
}

/** The identity of a stream: (namespace, name); absent and null namespaces are the same. */
export function streamKey(name: string, namespace?: string | null): string {
  return namespace == null ? name : `${namespace}\u0000${name}`;
}

/** A TRACE error line, as connectors report failures. */
export function traceErrorLine(
  message: string,
  failureType: 'system_error' | 'config_error' | 'transient_error',
  emittedAt: number,
  internal?: string,
): string {
  return JSON.stringify({
    type: 'TRACE',
    trace: { type: 'ERROR', emitted_at: emittedAt, error: { message, failure_type: failureType, ...(internal ? { internal_message: internal } : {}) } },
  });
}
