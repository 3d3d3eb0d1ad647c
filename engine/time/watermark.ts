/**
 * @module time/watermark
 * Watermark generation and combination as pure logic (shared/spec/event-time.md §7.1–7.3).
 * A watermark W declares that no more elements with timestamp <= W are expected.
 */

export const MIN_WATERMARK = Number.MIN_SAFE_INTEGER;
/** The watermark a bounded input sends at its end: it fires every event-time window. */
export const MAX_WATERMARK = Number.MAX_SAFE_INTEGER;

/** Flink's BoundedOutOfOrdernessWatermarks: W = maxTs − B − 1 (B = 0 is `forMonotonousTimestamps`). */
export class BoundedOutOfOrderness {
  private maxTs: number;

  constructor(readonly maxOutOfOrdernessMs: number) {
    this.maxTs = MIN_WATERMARK + maxOutOfOrdernessMs + 1;
  }

  onEvent(ts: number): void {
    if (ts > this.maxTs) this.maxTs = ts;
  }

  current(): number {
    return boundedWatermark(this.maxTs, this.maxOutOfOrdernessMs);
  }
}

/** Idleness by Flink's rule: checked on periodic emits; idle once more than `timeoutMs` passed without events. */
export class IdlenessTimer {
  private lastActivity: number;
  private sawEvent = false;

  constructor(
    readonly timeoutMs: number,
    now: number,
  ) {
    this.lastActivity = now;
  }

  activity(now: number): void {
    this.sawEvent = true;
    this.lastActivity = now;
  }

  /** Called on each periodic check; true when the input should be marked idle. */
  checkIfIdle(now: number): boolean {
    if (this.sawEvent) {
      this.sawEvent = false;
      this.lastActivity = now;
      return false;
    }
    return now - this.lastActivity > this.timeoutMs;
  }
}

export interface InputWatermark {
  readonly ms: number;
  readonly idle: boolean;
}

/** An operator's event time: the minimum over its non-idle inputs; all idle gives idle (no advance). */
export function combineWatermarks(inputs: readonly InputWatermark[]): InputWatermark {
  let ms = Infinity;
  let active = false;
  for (const w of inputs) {
    if (w.idle) continue;
    active = true;
    if (w.ms < ms) ms = w.ms;
  }
  if (!active) return { ms: inputs.reduce((m, w) => Math.max(m, w.ms), MIN_WATERMARK), idle: true };
  return { ms, idle: false };
}

/**
 * An operator's event time over its inputs — the one combiner every vertex and keyed partition uses. Inputs report
 * watermarks (never going back), idleness and their end (event time "infinity"); `advance()` re-combines them and says
 * what to forward: an advance, or the operator going idle (once per idle period).
 */
export class EventTime {
  private readonly inputs: InputWatermark[];
  private ended = 0;
  private forwarded = MIN_WATERMARK;
  private forwardedIdle = false;
  private state: InputWatermark = { ms: MIN_WATERMARK, idle: false };

  constructor(inputCount: number) {
    this.inputs = Array.from({ length: inputCount }, () => ({ ms: MIN_WATERMARK, idle: false }));
  }

  watermark(input: number, ms: number, idle: boolean): void {
    this.inputs[input] = { ms: Math.max(this.inputs[input]!.ms, ms), idle };
  }

  end(input: number): void {
    this.inputs[input] = { ms: MAX_WATERMARK, idle: false };
    this.ended++;
  }

  /** Replaces input `input`'s event time (a partition reporting its own combined time). */
  set(input: number, w: InputWatermark): void {
    this.inputs[input] = w;
  }

  /** Re-combines the inputs; returns the event time to forward now, or null when nothing changed. */
  advance(): InputWatermark | null {
    const c = combineWatermarks(this.inputs);
    this.state = c.idle ? { ms: this.state.ms, idle: true } : { ms: Math.max(this.state.ms, c.ms), idle: false };
    if (!c.idle && c.ms > this.forwarded) {
      this.forwarded = c.ms;
      this.forwardedIdle = false;
      return { ms: c.ms, idle: false };
    }
    if (c.idle && !this.forwardedIdle) {
      this.forwardedIdle = true;
      return { ms: this.forwarded, idle: true };
    }
    return null;
  }

  /** The operator's event time now (idle while every input is). */
  get current(): InputWatermark {
    return this.state;
  }

  get allEnded(): boolean {
    return this.ended === this.inputs.length;
  }
}

/** Flink's bounded out-of-orderness watermark for the newest event time seen: W = maxTs − B − 1. */
export function boundedWatermark(maxTs: number, maxOutOfOrdernessMs: number): number {
  return maxTs - maxOutOfOrdernessMs - 1;
}
