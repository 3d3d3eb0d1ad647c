/**
 * Newline-delimited input, shared by line-based sources (jsonl, airbyte_file). Emits batches of raw lines with their
 * line numbers as positions; parsing happens downstream in a decoder that runs in the worker pool. A line longer than
 * `maxLineBytes` is not buffered whole: its first KiB is kept with its true length, so the decoder can dead-letter it
 * while memory stays bounded.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { type Clock, ColumnBuilder, type Data, makeBatch, type RecordBatch, schemaOf, type SourceOutput } from '../../engine/api.js';

export const LINES_SCHEMA = schemaOf({ line: 'string', bytes: 'int64' });

const PREFIX_BYTES = 1024;

/** The byte length of a message that has no value at all (a Kafka tombstone): `json_decode` dead-letters it. */
export const NO_VALUE = -1;

/** Raw records for a `json_decode` decoder from messages a source received whole (queue payloads, HTTP bodies):
 * each message's text (possibly cut short) with its true byte length, so oversized ones are dead-lettered. */
export function messagesBatch(texts: readonly string[], byteLengths: readonly number[]): RecordBatch {
  return makeBatch(LINES_SCHEMA, messageColumns(texts, byteLengths), texts.length);
}

/** The two columns of `messagesBatch`, for sources that send more columns beside them (`json_decode`'s `carry`). */
export function messageColumns(texts: readonly string[], byteLengths: readonly number[]): Data[] {
  const line = new ColumnBuilder('string', texts.length);
  const bytes = new ColumnBuilder('int64', texts.length);
  texts.forEach((t, i) => {
    line.appendString(t);
    bytes.appendNumber(byteLengths[i]!);
  });
  return [line.finish(), bytes.finish()];
}

export interface LinePosition {
  readonly offset: number;
  readonly line: number;
}

export interface LineReaderOptions {
  readonly batchSize: number;
  readonly lingerMs: number;
  /** Times the linger. */
  readonly clock: Clock;
  readonly maxLineBytes: number;
  /** Looks at each line first: a control line is kept out of the batch, and may end it at a commit point. A line
   * over `maxLineBytes` is always data (its decoder dead-letters it); `inspect` sees its first KiB. */
  readonly inspect?: (line: Buffer, start: number, end: number, lineNo: number) => Control | undefined;
  /** Whether every batch end is a resumable position (a file), or only commit points are (a connector's stream). */
  readonly resumeAnywhere?: boolean;
}

/** What `inspect` says about a control line. */
export interface Control {
  readonly marker?: unknown;
  /** End the batch after this line, with a checkpoint; `resumeAfter` overrides the file position. */
  readonly commit?: { readonly resumeAfter?: unknown };
}

class LineBatch {
  line: ColumnBuilder;
  bytes: ColumnBuilder;
  positions: number[] = [];
  startedAt = 0;

  constructor(private readonly capacity: number) {
    this.line = new ColumnBuilder('string', capacity);
    this.bytes = new ColumnBuilder('int64', capacity);
  }

  add(src: Uint8Array, start: number, end: number, length: number, lineNo: number, now: () => number): void {
    if (!this.positions.length) this.startedAt = now();
    this.line.appendUtf8(src, start, end);
    this.bytes.appendNumber(length);
    this.positions.push(lineNo);
  }

  /** Byte offset just after the last line added, and its line number: where a resumed read continues. */
  end: LinePosition = { offset: 0, line: 0 };

  markers: unknown[] = [];

  take(resumable: boolean, commit?: { resumeAfter?: unknown }): SourceOutput {
    const n = this.positions.length;
    const out: SourceOutput = {
      batch: makeBatch(LINES_SCHEMA, [this.line.finish(), this.bytes.finish()], n),
      positions: Float64Array.from(this.positions),
      ...(commit ? { resumeAfter: commit.resumeAfter ?? this.end, checkpoint: true } : resumable ? { resumeAfter: this.end } : {}),
      ...(this.markers.length ? { markers: this.markers } : {}),
    };
    this.line = new ColumnBuilder('string', this.capacity);
    this.bytes = new ColumnBuilder('int64', this.capacity);
    this.positions = [];
    this.markers = [];
    return out;
  }
}

/** Reads lines from `path` (`-`: stdin) or a stream; `from` continues a file after a checkpointed position. */
export async function* readLines(path: string | Readable, opts: LineReaderOptions, from?: LinePosition): AsyncGenerator<SourceOutput> {
  const file = typeof path === 'string' && path !== '-';
  const startOffset = file ? (from?.offset ?? 0) : 0;
  const stream = typeof path !== 'string' ? path : path === '-' ? process.stdin : createReadStream(path, { highWaterMark: 1 << 20, start: startOffset });
  const resumable = opts.resumeAnywhere ?? true;
  const inspect = opts.inspect;
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const batch = new LineBatch(Math.min(opts.batchSize, 65536));
  let carry: Buffer | null = null;
  let lineNo = from?.line ?? 0;
  const now = () => opts.clock.monotonic();
  // Absolute offset of the next byte the stream will deliver.
  let streamOffset = startOffset;
  // While skipping an oversized line: its prefix and the bytes seen so far.
  let oversize: { prefix: Buffer; length: number } | null = null;
  let pending: Promise<IteratorResult<Buffer>> | null = null;
  try {
    for (;;) {
      pending ??= it.next();
      let r: IteratorResult<Buffer> | 'linger';
      if (batch.positions.length) {
        const wait = Math.max(0, opts.lingerMs - (opts.clock.monotonic() - batch.startedAt));
        const lingered = new AbortController();
        r = await Promise.race([pending, opts.clock.sleep(wait, lingered.signal).then(() => 'linger' as const)]);
        lingered.abort();
      } else r = await pending;
      if (r === 'linger') {
        yield batch.take(resumable);
        continue;
      }
      pending = null;
      if (r.done) break;
      const chunk: Buffer = carry ? Buffer.concat([carry, r.value]) : r.value;
      // A UTF-8 byte order mark (editors on Windows write one) starts the stream, not its first line.
      const bom = chunk === r.value && streamOffset === 0 && lineNo === 0 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf ? 3 : 0;
      streamOffset += r.value.length;
      const chunkStart = streamOffset - chunk.length;
      carry = null;
      let pos = bom;
      for (;;) {
        const nl = chunk.indexOf(10, pos);
        if (oversize) {
          const end = nl < 0 ? chunk.length : nl;
          oversize.length += end - pos;
          if (nl < 0) break;
          lineNo++;
          inspect?.(oversize.prefix, 0, oversize.prefix.length, lineNo);
          batch.add(oversize.prefix, 0, oversize.prefix.length, oversize.length, lineNo, now);
          batch.end = { offset: chunkStart + nl + 1, line: lineNo };
          oversize = null;
          pos = nl + 1;
        } else if (nl < 0) {
          const rest = chunk.length - pos;
          if (rest > opts.maxLineBytes) oversize = { prefix: Buffer.from(chunk.subarray(pos, pos + PREFIX_BYTES)), length: rest };
          else if (rest > 0) carry = Buffer.from(chunk.subarray(pos));
          break;
        } else {
          lineNo++;
          const len = nl - pos;
          const control = len <= opts.maxLineBytes ? inspect?.(chunk, pos, nl, lineNo) : void inspect?.(chunk, pos, pos + PREFIX_BYTES, lineNo);
          if (!control) {
            if (len > opts.maxLineBytes) batch.add(chunk, pos, pos + PREFIX_BYTES, len, lineNo, now);
            else batch.add(chunk, pos, nl, len, lineNo, now);
          }
          batch.end = { offset: chunkStart + nl + 1, line: lineNo };
          pos = nl + 1;
          if (control?.marker !== undefined) batch.markers.push(control.marker);
          if (control?.commit) {
            yield batch.take(resumable, control.commit);
            continue;
          }
        }
        if (batch.positions.length >= opts.batchSize) yield batch.take(resumable);
      }
    }
    // A last line without a trailing newline is still a line.
    let control: Control | undefined;
    if (oversize) {
      inspect?.(oversize.prefix, 0, oversize.prefix.length, ++lineNo);
      batch.add(oversize.prefix, 0, oversize.prefix.length, oversize.length, lineNo, now);
    } else if (carry && carry.length) {
      control = inspect?.(carry, 0, carry.length, ++lineNo);
      if (!inspect) lineNo++;
      if (!control) batch.add(carry, 0, carry.length, carry.length, lineNo, now);
      else if (control.marker !== undefined) batch.markers.push(control.marker);
    }
    batch.end = { offset: streamOffset, line: lineNo };
    if (batch.positions.length || batch.markers.length || control?.commit) yield batch.take(resumable, control?.commit);
  } finally {
    if (file) (stream as ReturnType<typeof createReadStream>).destroy();
  }
}
