/**
 * The fast path of `airbyte_decode`: a RECORD line's envelope and the wanted members of its `data`, read straight
 * from the UTF-8 bytes with FlatJsonScanner. Hand-written for measured speed: JSON.parse of every message was the
 * largest cost of decoding (native-bench scenario "a", --cpu-prof), and string values now reach Arrow as bytes
 * without becoming JS strings. Partial by design, like FlatJsonScanner: a line it does not read exactly (another
 * message type, `meta` changes, escapes, nested values in wanted fields, a namespace it cannot place …) answers
 * `false` and takes the JSON.parse path, which gives the identical result or the identical error.
 */
import { equalBytes, FlatJsonScanner, Slot } from '../jsonl/flat-scanner.js';
import type { ColumnType } from '../../engine/api.js';

const TYPE = 0;
const RECORD = 1;
const STREAM = 0;
const NAMESPACE = 1;
const DATA = 2;
const EMITTED_AT = 3;
const META = 4;
const RECORD_TYPE = Buffer.from('RECORD');

/** A catalog stream the scanner reads, with the data fields it extracts. */
export interface ScannedStream<S> {
  readonly name: string;
  readonly namespace: string | null;
  readonly fields: readonly (readonly [string, ColumnType])[];
  readonly stream: S;
}

interface Entry<S> {
  readonly name: Uint8Array;
  readonly namespace: Uint8Array | null;
  readonly data: FlatJsonScanner;
  readonly stream: S;
}

export class RecordScanner<S> {
  private readonly entries: Entry<S>[];
  private readonly envelope: FlatJsonScanner;
  private readonly record: FlatJsonScanner;
  /** After a successful `scan`: the record's stream, its data scanner (kind/num/end per field) and `emitted_at`. */
  stream: S | null = null;
  data: FlatJsonScanner | null = null;
  emittedAt = 0;
  private chosen: Entry<S> | null = null;
  private bytes: Uint8Array = new Uint8Array(0);

  constructor(streams: readonly ScannedStream<S>[]) {
    this.entries = streams.map((s) => ({
      name: Buffer.from(s.name),
      namespace: s.namespace === null ? null : Buffer.from(s.namespace),
      data: new FlatJsonScanner(s.fields),
      stream: s.stream,
    }));
    this.record = new FlatJsonScanner(
      [
        ['stream', 'string'],
        ['namespace', 'string'],
        ['data', 'object'],
        ['emitted_at', 'float64'],
        ['meta', 'object'],
      ],
      (col, bytes, start, end) => (col === DATA ? this.readData(bytes, start, end) : -1),
    );
    this.envelope = new FlatJsonScanner(
      [
        ['type', 'string'],
        ['record', 'object'],
      ],
      (_, bytes, start, end) => this.record.scanObject(bytes, start, end),
    );
  }

  /** Reads one line; true when it is a RECORD of a scanned stream whose wanted data fields were all read exactly. */
  scan(bytes: Uint8Array, start: number, end: number): boolean {
    this.chosen = null;
    this.bytes = bytes;
    const env = this.envelope;
    const rec = this.record;
    if (!env.scan(bytes, start, end)) return false;
    if (env.kind[TYPE] !== Slot.Bytes || !equalBytes(bytes, env.num[TYPE]!, env.end[TYPE]!, RECORD_TYPE) || env.kind[RECORD] !== Slot.Object) return false;
    if (rec.kind[DATA] !== Slot.Object || rec.kind[EMITTED_AT] !== Slot.Number) return false;
    if (rec.kind[META] !== Slot.Missing && rec.kind[META] !== Slot.Null) return false; // changes to carry over
    // A namespace after `data` may name another stream than the one whose fields were read.
    const entry = this.lookup();
    if (entry === null || entry !== (this.chosen as Entry<S> | null)) return false;
    this.stream = entry.stream;
    this.data = entry.data;
    this.emittedAt = rec.num[EMITTED_AT]!;
    return true;
  }

  private readData(bytes: Uint8Array, start: number, end: number): number {
    this.chosen = this.lookup();
    return this.chosen ? this.chosen.data.scanObject(bytes, start, end) : -1;
  }

  /** The stream named by the record's members read so far, as `airbyte_decode` resolves it: (namespace, name), and
   * an empty namespace also matches a stream without one. */
  private lookup(): Entry<S> | null {
    const rec = this.record;
    const bytes = this.bytes;
    if (rec.kind[STREAM] !== Slot.Bytes) return null;
    const ns = rec.kind[NAMESPACE];
    if (ns !== Slot.Bytes && ns !== Slot.Missing && ns !== Slot.Null) return null;
    const s = rec.num[STREAM]!;
    const e = rec.end[STREAM]!;
    const ns0 = rec.num[NAMESPACE]!;
    const ns1 = rec.end[NAMESPACE]!;
    // A stream without a namespace serves a record without one, or one with an empty namespace when no stream
    // names that namespace exactly; one loop, no allocation, as this runs for every record.
    let unnamespaced: Entry<S> | null = null;
    for (const x of this.entries) {
      if (!equalBytes(bytes, s, e, x.name)) continue;
      if (x.namespace === null) {
        if (ns !== Slot.Bytes) return x;
        if (ns1 === ns0) unnamespaced ??= x;
      } else if (ns === Slot.Bytes && equalBytes(bytes, ns0, ns1, x.namespace)) return x;
    }
    return unnamespaced;
  }
}
