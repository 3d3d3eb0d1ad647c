/**
 * The coordinating-thread side of reading an Airbyte message stream (a connector's stdout, a recorded file, a
 * destination's stdin). RECORD lines stay in the line batches for `airbyte_decode` in the pool; every other message
 * is taken out here:
 * - STATE ends the batch at a commit point (a checkpoint) and travels as a marker with that checkpoint, carrying how
 *   many records came before it (per stream for STREAM states, over all streams for GLOBAL and LEGACY, as Airbyte's
 *   destination CDK counts them) and the connector state to resume from;
 * - TRACE stream statuses travel as markers too (they must follow their stream's records); TRACE errors are kept
 *   for the failure message; LOG and other TRACEs go to the log.
 * Classifying must not parse every record on this thread: the usual RECORD line shapes are recognised from their
 * first or last bytes (see `recordStream`), anything else is parsed.
 */
import { type Clock, duration, z } from '../../engine/api.js';
import { InvalidMessage, parseMessage, type StateMessage, streamKey } from './protocol.js';
import { elements, members, setMember } from './raw-json.js';
import { equalBytes } from '../jsonl/flat-scanner.js';
import type { Control } from '../jsonl/lines.js';

/** A STATE as it passed: its original line, its parsed form and the records received since the previous one. */
export interface StateMarker {
  readonly kind: 'state';
  readonly line: number;
  readonly text: string;
  readonly state: StateMessage;
  /** Stream key for STREAM states, null for GLOBAL/LEGACY (which cover every stream). */
  readonly stream: string | null;
  readonly recordCount: number;
}

/** A TRACE stream status, passed on after its stream's records. */
export interface StatusMarker {
  readonly kind: 'status';
  readonly line: number;
  readonly text: string;
}

export type Marker = StateMarker | StatusMarker;

/** Connector state to resume from: the latest STATE per stream (STREAM), or the latest one (GLOBAL, LEGACY). */
export interface ResumeState {
  readonly type: 'STREAM' | 'GLOBAL' | 'LEGACY';
  /** Original texts of the `state` members, by stream key ('' for GLOBAL and LEGACY). */
  readonly states: readonly (readonly [string, string])[];
}

/** The `--state` file a connector expects, built from original texts (never re-encoded). */
export function stateFileText(r: ResumeState): string {
  if (r.type === 'LEGACY') {
    const s = r.states[0]![1];
    const data = members(s).get('data');
    return data ? s.slice(data[0], data[1]) : '{}';
  }
  return `[${r.states.map(([, text]) => text).join(',')}]`;
}

/** A connector `--state` file as resume state: an array of state messages, or a LEGACY blob. Texts are kept. */
export function resumeStateOf(fileText: string): ResumeState {
  const trimmed = fileText.trim();
  if (!trimmed.startsWith('[')) return { type: 'LEGACY', states: [['', `{"type":"LEGACY","data":${trimmed}}`]] };
  const parsed = JSON.parse(trimmed) as StateMessage[];
  const spans = elements(trimmed);
  const type = parsed[0]?.type ?? 'LEGACY';
  return {
    type,
    states: parsed.map(
      (st, i) =>
        [
          type === 'STREAM' && st.stream ? streamKey(st.stream.stream_descriptor.name, st.stream.stream_descriptor.namespace) : '',
          trimmed.slice(...spans[i]!),
        ] as const,
    ),
  };
}

/** When a STATE becomes a commit point: once `records` records or `intervalMs` have passed since the last one (a
 * commit costs a transaction in every sink; API sources send a STATE every page of a few dozen records). */
export interface GroupCommit {
  readonly records: number;
  readonly intervalMs: number;
  readonly now: () => number;
}

/** The longest Airbyte message line kept (`airbyte_file`, `airbyte_source`). */
export const maxLineBytesOption = {
  maxLineBytes: z
    .number()
    .int()
    .positive()
    .default(16 << 20)
    .describe('Longer lines are dead-lettered (default 16 MiB).'),
};

/** The config options of Airbyte sources that set their `GroupCommit`. */
export const groupCommitOptions = {
  commitRecords: z
    .number()
    .int()
    .positive()
    .default(10_000)
    .describe('A STATE is committed once this many records came since the last commit (default 10 000) ...'),
  commitInterval: duration()
    .default(1000)
    .describe('... or once this much time passed (default 1s); the STATEs in between are passed on with that commit, in order.'),
};

export function groupCommit(cfg: { commitRecords: number; commitInterval: number }, clock: Clock): GroupCommit {
  return { records: cfg.commitRecords, intervalMs: cfg.commitInterval, now: () => clock.monotonic() };
}

export interface MessageEvents {
  log?(level: string, message: string): void;
  /** A line that is not a valid AirbyteMessage (it still goes to the decoder, which dead-letters it). */
  invalid?(line: number, reason: string): void;
}

// Common serialisations: Python and TypeScript CDKs write compact JSON, Java's test fixtures `": "` separators.
const PREFIXES = ['{"type":"RECORD","record":{"stream":"', '{"type": "RECORD", "record": {"stream": "', '{"record":{"stream":"'].map((p) => Buffer.from(p));
const TYPE_LAST = Buffer.from(',"type":"RECORD"}');
const NAMESPACE = Buffer.from('"namespace"');

/**
 * The stream of a RECORD line recognised by its shape, or null (then the line is parsed). A line starting with
 * `{"type":"RECORD","record":{"stream":"` is a RECORD whose first record member is its stream; a line starting with
 * `{"record":{"stream":"` is one when it ends with `,"type":"RECORD"}`, as that member is then the top-level one
 * (the final brace closes the message). Lines naming a namespace, or an escaped stream name, are parsed.
 */
export function recordStream(buf: Buffer, start: number, end: number): string | null {
  for (let p = 0; p < PREFIXES.length; p++) {
    const prefix = PREFIXES[p]!;
    if (end - start <= prefix.length || !equalBytes(buf, start, start + prefix.length, prefix)) continue;
    if (p === 2 && (end - start < TYPE_LAST.length || !equalBytes(buf, end - TYPE_LAST.length, end, TYPE_LAST))) return null;
    const nameStart = start + prefix.length;
    let quote = nameStart;
    while (quote < end && buf[quote] !== 34) if (buf[quote++] === 92) return null;
    if (quote >= end || (mayNameNamespace(buf) && buf.subarray(start, end).includes(NAMESPACE))) return null;
    return streamName(buf, nameStart, quote);
  }
  return null;
}

/** The stream key a line was counted for by `MessageReader` (a RECORD's stream), or null when it is no RECORD. */
export function recordStreamOf(line: string): string | null {
  const buf = Buffer.from(line);
  const fast = recordStream(buf, 0, buf.length);
  if (fast !== null) return fast;
  try {
    const r = (JSON.parse(line) as { record?: { stream?: unknown; namespace?: unknown } }).record;
    return typeof r?.stream === 'string' ? streamKey(r.stream, typeof r.namespace === 'string' ? r.namespace : null) : null;
  } catch {
    return null;
  }
}

// `buf` is a whole read chunk (read chunks are never written to afterwards): one search per chunk, instead of one per
// line, tells whether any line may name a namespace (native-bench a: the per-line search was a tenth of this thread).
let searched: { buf: Buffer; found: boolean } = { buf: Buffer.alloc(0), found: false };

function mayNameNamespace(buf: Buffer): boolean {
  if (searched.buf !== buf) searched = { buf, found: buf.includes(NAMESPACE) };
  return searched.found;
}

// This runs for every line on the coordinating thread, so it decodes a stream name only when it differs from the
// previous line's.
let lastName: { bytes: Uint8Array; text: string } = { bytes: new Uint8Array(0), text: '' };

function streamName(buf: Buffer, start: number, end: number): string {
  if (!equalBytes(buf, start, end, lastName.bytes))
    lastName = { bytes: Uint8Array.prototype.slice.call(buf, start, end), text: buf.toString('utf8', start, end) };
  return lastName.text;
}

export class MessageReader {
  private sinceGlobal = 0;
  private readonly sinceStream = new Map<string, number>();
  private resume: { type: ResumeState['type']; states: Map<string, string> };
  /** The first failure the connector reported in its messages (a TRACE error, a FAILED connection status, a STATE
   * whose `sourceStatus` is ERRORED): some CDKs exit 0 after one, yet the read failed. */
  failure: string | null = null;
  records = 0;
  states = 0;
  logs = 0;
  traces = 0;

  private sinceCommit = 0;
  private lastCommitAt: number;
  /** STATEs passed since the last commit point: the end of the input must commit them. */
  uncommitted = 0;

  constructor(
    private readonly events: MessageEvents,
    /** Whether a STATE is a commit point that also changes where to resume (a connector), or only a commit point. */
    private readonly resumeFromStates: boolean,
    private readonly group: GroupCommit,
    from?: ResumeState,
  ) {
    this.resume = { type: from?.type ?? 'LEGACY', states: new Map(from?.states) };
    this.lastCommitAt = group.now();
  }

  get resumeState(): ResumeState | null {
    return this.resume.states.size ? { type: this.resume.type, states: [...this.resume.states] } : null;
  }

  private countRecord(key: string | null): void {
    this.records++;
    this.sinceCommit++;
    this.sinceGlobal++;
    if (key !== null) this.sinceStream.set(key, (this.sinceStream.get(key) ?? 0) + 1);
  }

  /** The `inspect` hook for `readLines`. */
  readonly inspect = (buf: Buffer, start: number, end: number, line: number): Control | undefined => {
    if (end > start && buf[end - 1] === 13) end--;
    const stream = recordStream(buf, start, end);
    if (stream !== null) {
      this.countRecord(stream);
      return undefined;
    }
    const text = buf.toString('utf8', start, end);
    if (!text.trim()) return undefined;
    const msg = parseMessage(text);
    if (msg instanceof InvalidMessage) {
      this.countRecord(null);
      this.events.invalid?.(line, msg.reason);
      return undefined;
    }
    switch (msg.type) {
      case 'RECORD':
        this.countRecord(streamKey(msg.record.stream, msg.record.namespace));
        return undefined;
      case 'STATE':
        return this.onState(msg.state, text, line, (msg as { sourceStatus?: unknown }).sourceStatus);
      case 'TRACE': {
        this.traces++;
        const t = msg.trace;
        if (t.type === 'STREAM_STATUS') return { marker: { kind: 'status', line, text } satisfies StatusMarker };
        if (t.type === 'ERROR') this.failure ??= `${t.error?.message ?? 'unknown error'}${t.error?.failure_type ? ` (${t.error.failure_type})` : ''}`;
        else this.events.log?.('DEBUG', `trace ${t.type}: ${text}`);
        return {};
      }
      case 'LOG':
        this.logs++;
        this.events.log?.(msg.log.level, msg.log.message);
        return {};
      case 'CONNECTION_STATUS':
        if (msg.connectionStatus.status === 'FAILED')
          this.failure ??= `connection status FAILED${msg.connectionStatus.message ? `: ${msg.connectionStatus.message}` : ''}`;
        return {};
      default:
        this.events.log?.('DEBUG', `ignored ${msg.type} message on line ${line}`);
        return {};
    }
  };

  private onState(state: StateMessage, text: string, line: number, topStatus: unknown): Control {
    this.states++;
    const errored = sourceStatusError(topStatus) ?? sourceStatusError((state as { sourceStatus?: unknown }).sourceStatus);
    if (errored !== null) this.failure ??= errored;
    // After a reported failure the connector's states are not trusted: nothing after it is committed.
    if (this.failure !== null && this.resumeFromStates) {
      this.events.log?.('WARN', `STATE on line ${line} follows the connector's failure report; not committed`);
      return {};
    }
    const type = state.type ?? 'LEGACY';
    const stateSpan = members(text).get('state')!;
    const stateText = text.slice(stateSpan[0], stateSpan[1]);
    let stream: string | null = null;
    let recordCount: number;
    if (type === 'STREAM' && state.stream) {
      stream = streamKey(state.stream.stream_descriptor.name, state.stream.stream_descriptor.namespace);
      recordCount = this.sinceStream.get(stream) ?? 0;
      this.sinceStream.delete(stream);
      this.sinceGlobal -= recordCount;
    } else {
      recordCount = this.sinceGlobal;
      this.sinceGlobal = 0;
      this.sinceStream.clear();
    }
    if (type !== this.resume.type) this.resume = { type, states: new Map() };
    if (type === 'STREAM') this.resume.states.set(stream ?? '', stateText);
    else this.resume.states = new Map([['', stateText]]);
    const marker: StateMarker = { kind: 'state', line, text, state, stream, recordCount };
    // Group commit: a STATE ends an interval to commit only once enough records or time have accumulated; the
    // STATEs in between travel with the next commit point as markers, in order.
    const now = this.group.now();
    if (this.sinceCommit < this.group.records && now - this.lastCommitAt < this.group.intervalMs) {
      this.uncommitted++;
      return { marker };
    }
    this.sinceCommit = 0;
    this.uncommitted = 0;
    this.lastCommitAt = now;
    return { marker, commit: this.resumeFromStates ? { resumeAfter: this.resumeState } : {} };
  }
}

/** The message of an ERRORED `sourceStatus` (Faros' CDK reports a failed read this way, at the top level of the
 * STATE message or inside `state`), or null. */
function sourceStatusError(status: unknown): string | null {
  const st = status as { status?: unknown; message?: unknown } | null | undefined;
  if (!st || typeof st !== 'object' || st.status !== 'ERRORED') return null;
  return `source status ERRORED${typeof st.message === 'string' ? `: ${st.message}` : st.message ? `: ${JSON.stringify(st.message)}` : ''}`;
}

/** The STATE line with `state.<field>` set to `{"recordCount": n.0, ...}`; everything else as received. */
export function withStats(m: StateMarker, field: 'sourceStats' | 'destinationStats', stats: { recordCount: number; rejectedRecordCount?: number }): string {
  const span = members(m.text).get('state')!;
  // Airbyte's stats are doubles that "should always have a decimal point".
  const num = (n: number) => (Number.isInteger(n) ? `${n}.0` : String(n));
  const value = `{"recordCount":${num(stats.recordCount)}${stats.rejectedRecordCount !== undefined ? `,"rejectedRecordCount":${num(stats.rejectedRecordCount)}` : ''}}`;
  const stateText = m.text.slice(span[0], span[1]);
  return m.text.slice(0, span[0]) + setMember(stateText, field, value) + m.text.slice(span[1]);
}
