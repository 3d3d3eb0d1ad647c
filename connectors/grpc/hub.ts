/**
 * Where `abflow serve`'s gRPC API meets running jobs: `grpc` sources and sinks register here under
 * "<job>/<node>", the service's Ingest pushes batches into a source, and Subscribe attaches to a sink. In-process
 * only, which is the point: the sidecar pattern (an application streams Arrow batches to the abflow next to it).
 */
import type { RecordBatch, Schema } from 'apache-arrow';

export interface IngestPoint {
  readonly schema: Schema;
  /** Resolves when the batch has been taken by the source (backpressure: at most one batch waits). */
  push(batch: RecordBatch): Promise<void>;
  /** An ingest stream ended (the source may end its input, per its config). */
  finished(): void;
}

export interface Subscription {
  send(batch: RecordBatch): void;
  close(): void;
}

export interface TapPoint {
  readonly schema: Schema;
  subscribe(s: Subscription): () => void;
}

const ingest = new Map<string, IngestPoint>();
const taps = new Map<string, TapPoint>();

export const hub = {
  registerIngest(key: string, p: IngestPoint): () => void {
    ingest.set(key, p);
    return () => void (ingest.get(key) === p && ingest.delete(key));
  },
  ingest: (key: string) => ingest.get(key),
  registerTap(key: string, t: TapPoint): () => void {
    taps.set(key, t);
    return () => void (taps.get(key) === t && taps.delete(key));
  },
  tap: (key: string) => taps.get(key),
};
