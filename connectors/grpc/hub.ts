/**
 * Where `abflow serve`'s gRPC API meets running jobs: `grpc` sources and sinks register here under
 * "<job>/<node>", the service's Ingest pushes batches into a source, and Subscribe attaches to a sink. In-process
 * only, which is the point: the sidecar pattern (an application streams Arrow batches to the abflow next to it).
 * Each thread has its own hub: a served job runs in a thread of its own, whose points the service mirrors.
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

/** A point registered (with its point) or gone (without): how a job's thread tells the service's thread, which
 * holds the gRPC server, what it may route to (engine/service/job-host.ts bridges the two hubs). */
export type HubChange =
  { readonly kind: 'ingest'; readonly key: string; readonly point?: IngestPoint } | { readonly kind: 'tap'; readonly key: string; readonly point?: TapPoint };

const ingest = new Map<string, IngestPoint>();
const taps = new Map<string, TapPoint>();
const watchers = new Set<(c: HubChange) => void>();

function register<P>(map: Map<string, P>, kind: HubChange['kind'], key: string, p: P): () => void {
  map.set(key, p);
  for (const w of watchers) w({ kind, key, point: p } as HubChange);
  return () => {
    if (map.get(key) !== p) return;
    map.delete(key);
    for (const w of watchers) w({ kind, key });
  };
}

export const hub = {
  registerIngest: (key: string, p: IngestPoint) => register(ingest, 'ingest', key, p),
  ingest: (key: string) => ingest.get(key),
  registerTap: (key: string, t: TapPoint) => register(taps, 'tap', key, t),
  tap: (key: string) => taps.get(key),
  watch(w: (c: HubChange) => void): () => void {
    watchers.add(w);
    return () => void watchers.delete(w);
  },
};
