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
    return this.maxTs - this.maxOutOfOrdernessMs - 1;
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
