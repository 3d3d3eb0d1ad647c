/**
 * @module time/windows
 * Window assignment and lifecycle as pure functions, following Flink (shared/spec/event-time.md §7.4–7.6).
 * Windows are `[start, end)`: start inclusive, end exclusive; a window's max timestamp is `end - 1`. Times are epoch
 * milliseconds (UTC) and may be negative (before 1970): alignment uses floor modulo.
 */

/** Start of the window of `size` containing `ts`, aligned to `offset` (Flink's getWindowStartWithOffset). */
export function windowStart(ts: number, size: number, offset = 0): number {
  const r = (ts - offset) % size;
  return r < 0 ? ts - (r + size) : ts - r;
}

/** Starts of the sliding windows (`size`, `slide`) containing `ts`, newest first; tumbling is slide === size. */
export function slidingWindowStarts(ts: number, size: number, slide: number, offset = 0): number[] {
  const out: number[] = [];
  for (let s = windowStart(ts, slide, offset); s > ts - size; s -= slide) out.push(s);
  return out;
}

export interface Interval {
  start: number;
  end: number;
}

/** Flink's TimeWindow.intersects: touching windows (a.end === b.start) merge. */
export function sessionsOverlap(a: Interval, b: Interval): boolean {
  return a.start <= b.end && a.end >= b.start;
}

/** Merges intervals into sessions (sorted by start); each result is the cover of the intervals it merged. */
export function mergeSessions(intervals: readonly Interval[]): Interval[] {
  const sorted = [...intervals].sort((a, b) => a.start - b.start);
  const out: Interval[] = [];
  for (const w of sorted) {
    const last = out[out.length - 1];
    if (last && sessionsOverlap(last, w)) last.end = Math.max(last.end, w.end);
    else out.push({ start: w.start, end: w.end });
  }
  return out;
}

/** `maxTimestamp + allowedLateness`, saturating (Flink's cleanupTime). */
export function cleanupTime(end: number, allowedLatenessMs: number): number {
  const t = end - 1 + allowedLatenessMs;
  return t < end - 1 ? Number.MAX_SAFE_INTEGER : t;
}

/** A window whose cleanup time has passed takes no more elements. */
export function isWindowLate(end: number, allowedLatenessMs: number, watermark: number): boolean {
  return cleanupTime(end, allowedLatenessMs) <= watermark;
}

/** The element is late in Flink's sense (used for the side output when no window took it). */
export function isElementLate(ts: number, allowedLatenessMs: number, watermark: number): boolean {
  return ts + allowedLatenessMs <= watermark;
}

/** A window's max timestamp, `end − 1`: the event time at which it fires (its event-time timer). */
export function fireTime(end: number): number {
  return end - 1;
}

/** EventTimeTrigger: a window fires once the watermark reaches its max timestamp. */
export function shouldFire(end: number, watermark: number): boolean {
  return fireTime(end) <= watermark;
}
