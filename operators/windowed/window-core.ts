/**
 * Flink's WindowOperator for one partition of keyed state, without Arrow: window assignment, the event-time trigger,
 * allowed lateness, cleanup and session merging (shared/spec/event-time.md §7.4–7.6). Generic over the accumulator,
 * so the semantics are tested on their own with the spec's vectors.
 *
 * Firing follows EventTimeTrigger: a window fires when the watermark reaches `end - 1`; an element added to a
 * window that already fired (allowed lateness) fires it again at once with the accumulated contents, marked `late`.
 * Contents stay until cleanup (`end - 1 + allowedLateness <= watermark`).
 */
import {
  cleanupTime,
  fireTime,
  isElementLate,
  isWindowLate,
  mergeSessions,
  sessionsOverlap,
  shouldFire,
  type Interval,
  windowStart,
} from '../../engine/api.js';

export type WindowSpec =
  | { readonly type: 'tumbling'; readonly sizeMs: number; readonly offsetMs: number }
  | { readonly type: 'sliding'; readonly sizeMs: number; readonly slideMs: number; readonly offsetMs: number }
  | { readonly type: 'session'; readonly gapMs: number };

export type Firing = 'on_time' | 'late';

export interface Accumulator<A> {
  create(): A;
  /** Adds input row `row` to `acc` (returns the new accumulator; numbers are immutable). */
  add(acc: A, row: number): A;
  merge(a: A, b: A): A;
}

export interface Fired<A> {
  readonly key: string;
  readonly start: number;
  readonly end: number;
  readonly acc: A;
  readonly firing: Firing;
}

interface Slot<A> {
  key: string;
  start: number;
  end: number;
  acc: A;
  fired: boolean;
}

/** Binary min-heap of timers (time, key, window start), with lazy deletion of stale entries. */
export class TimerHeap {
  private readonly times: number[] = [];
  private readonly keys: string[] = [];
  private readonly starts: number[] = [];

  get size(): number {
    return this.times.length;
  }

  peek(): number {
    return this.times[0] ?? Infinity;
  }

  push(time: number, key: string, start: number): void {
    let i = this.times.length;
    this.times.push(time);
    this.keys.push(key);
    this.starts.push(start);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.times[p]! <= time) break;
      this.swap(i, p);
      i = p;
    }
  }

  pop(): { time: number; key: string; start: number } {
    const top = { time: this.times[0]!, key: this.keys[0]!, start: this.starts[0]! };
    const last = this.times.length - 1;
    this.swap(0, last);
    this.times.pop();
    this.keys.pop();
    this.starts.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.times.length && this.times[l]! < this.times[m]!) m = l;
      if (r < this.times.length && this.times[r]! < this.times[m]!) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }

  private swap(a: number, b: number): void {
    [this.times[a], this.times[b]] = [this.times[b]!, this.times[a]!];
    [this.keys[a], this.keys[b]] = [this.keys[b]!, this.keys[a]!];
    [this.starts[a], this.starts[b]] = [this.starts[b]!, this.starts[a]!];
  }
}

export class KeyedWindows<A> {
  /** Tumbling and sliding windows: window start → key → slot. Every key's window with one start fires at the same
   * watermark, so one timer per start replaces one per (key, window), and adding a row hashes its key string once
   * rather than building a (key, start) string for each of its windows (the top self time of Nexmark q5's
   * partitions, native-bench nexmark --cpu-prof). A map per key instead would cost several hundred bytes per key
   * (native-bench window-state); there are only size/slide + lateness/slide open starts. */
  private readonly byStart = new Map<number, Map<string, Slot<A>>>();
  private readonly sessions = new Map<string, Slot<A>[]>();
  /** Timers of session windows carry their key; those of aligned windows carry ALL_KEYS (one timer per start). */
  private readonly fireTimers = new TimerHeap();
  private readonly cleanupTimers = new TimerHeap();
  watermark = Number.MIN_SAFE_INTEGER;
  /** Elements that no window took and that are late: side output or counted drop. */
  lateElements = 0;

  constructor(
    readonly spec: WindowSpec,
    readonly allowedLatenessMs: number,
    private readonly agg: Accumulator<A>,
  ) {}

  /** Open (key, window) pairs; for sessions, keys with open sessions. */
  get keyCount(): number {
    let n = this.sessions.size;
    for (const keys of this.byStart.values()) n += keys.size;
    return n;
  }

  /** Adds an element; returns false when it was late for every window it belongs to (for the `late` output).
   * Windows that this element updates after they fired are appended to `fired` (late firings). */
  add(key: string, ts: number, row: number, fired: Fired<A>[]): boolean {
    if (this.spec.type === 'session') return this.addToSession(key, ts, row, fired);
    const size = this.spec.sizeMs;
    const slide = this.spec.type === 'sliding' ? this.spec.slideMs : size;
    let taken = false;
    // slidingWindowStarts, iterated in place: no array per row on this hot path.
    for (let start = windowStart(ts, slide, this.spec.offsetMs); start > ts - size; start -= slide) {
      const end = start + size;
      if (isWindowLate(end, this.allowedLatenessMs, this.watermark)) continue;
      taken = true;
      const keys = this.keysAt(start, end);
      let slot = keys.get(key);
      if (!slot) keys.set(key, (slot = { key, start, end, acc: this.agg.create(), fired: false }));
      slot.acc = this.agg.add(slot.acc, row);
      if (shouldFire(end, this.watermark)) {
        slot.fired = true;
        fired.push({ key, start, end, acc: slot.acc, firing: 'late' });
      }
    }
    return taken || !isElementLate(ts, this.allowedLatenessMs, this.watermark);
  }

  /** The slots of the aligned window [start, end), created with its timers on first use. */
  private keysAt(start: number, end: number): Map<string, Slot<A>> {
    let keys = this.byStart.get(start);
    if (!keys) {
      this.byStart.set(start, (keys = new Map()));
      this.registerTimers(ALL_KEYS, start, end);
    }
    return keys;
  }

  private addToSession(key: string, ts: number, row: number, fired: Fired<A>[]): boolean {
    if (this.spec.type !== 'session') throw new Error('not a session window');
    const proposed: Interval = { start: ts, end: ts + this.spec.gapMs };
    const sessions = this.sessions.get(key) ?? [];
    const touching = sessions.filter((s) => sessionsOverlap(s, proposed));
    const merged = mergeSessions([proposed, ...touching])[0]!;
    if (isWindowLate(merged.end, this.allowedLatenessMs, this.watermark)) return !isElementLate(ts, this.allowedLatenessMs, this.watermark);
    let acc = this.agg.add(this.agg.create(), row);
    let wasFired = false;
    for (const s of touching) {
      acc = this.agg.merge(s.acc, acc);
      wasFired ||= s.fired;
    }
    const slot: Slot<A> = { key, start: merged.start, end: merged.end, acc, fired: wasFired };
    this.sessions.set(
      key,
      [...sessions.filter((s) => !touching.includes(s)), slot].sort((a, b) => a.start - b.start),
    );
    this.registerTimers(key, slot.start, slot.end);
    if (shouldFire(merged.end, this.watermark)) {
      slot.fired = true;
      fired.push({ key, start: slot.start, end: slot.end, acc: slot.acc, firing: 'late' });
    }
    return true;
  }

  private registerTimers(key: string, start: number, end: number): void {
    this.fireTimers.push(fireTime(end), key, start);
    if (this.allowedLatenessMs > 0) this.cleanupTimers.push(cleanupTime(end, this.allowedLatenessMs), key, start);
  }

  /** The slots timer `t` is for: every key's at an aligned window's start; for sessions, the key's session at that
   * start if the timer is its own (`delay` after its max timestamp): a merged session's old timers find nothing. */
  private slotsOf(t: { time: number; key: string; start: number }, delay: number): Iterable<Slot<A>> {
    if (this.spec.type !== 'session') return this.byStart.get(t.start)?.values() ?? [];
    const s = this.sessions.get(t.key)?.find((x) => x.start === t.start);
    return s && (delay === 0 ? fireTime(s.end) : cleanupTime(s.end, delay)) === t.time ? [s] : [];
  }

  private remove(key: string, start: number): void {
    if (this.spec.type !== 'session') {
      this.byStart.delete(start);
      return;
    }
    const rest = (this.sessions.get(key) ?? []).filter((s) => s.start !== start);
    if (rest.length) this.sessions.set(key, rest);
    else this.sessions.delete(key);
  }

  /** The open windows per key (plain data) and the watermark, for a checkpoint. */
  snapshot(): { entries: [string, Slot<A>[]][]; watermark: number } {
    const byKey = new Map<string, Slot<A>[]>();
    for (const keys of this.byStart.values()) for (const slot of keys.values()) (byKey.get(slot.key) ?? byKey.set(slot.key, []).get(slot.key)!).push(slot);
    for (const [key, sessions] of this.sessions) byKey.set(key, sessions);
    return { entries: [...byKey], watermark: this.watermark };
  }

  /** Restores windows from a snapshot (entries may come from several old partitions) and re-arms their timers. */
  restore(entries: readonly (readonly [string, Slot<A>[]])[], watermark: number, revive: (acc: A) => A = (a) => a): void {
    this.watermark = Math.max(this.watermark, watermark);
    for (const [key, slots] of entries) {
      for (const slot of slots) {
        slot.acc = revive(slot.acc);
        if (this.spec.type === 'session') {
          this.sessions.set(key, [...(this.sessions.get(key) ?? []), slot]);
          this.registerTimers(key, slot.start, slot.end);
        } else this.keysAt(slot.start, slot.end).set(key, slot);
      }
    }
  }

  /** Advances event time: fires windows whose max timestamp is <= watermark (in timestamp order; an aligned
   * window's keys in the order they opened it), then drops state whose cleanup time has passed. */
  advance(watermark: number, fired: Fired<A>[]): void {
    if (watermark <= this.watermark) return;
    this.watermark = watermark;
    while (this.fireTimers.size && this.fireTimers.peek() <= watermark) {
      const t = this.fireTimers.pop();
      let due = false;
      for (const slot of this.slotsOf(t, 0)) {
        due = true;
        // A window that fired on a late element is not fired again on time.
        if (!slot.fired) fired.push({ key: slot.key, start: slot.start, end: slot.end, acc: slot.acc, firing: 'on_time' });
        slot.fired = true;
      }
      if (due && this.allowedLatenessMs === 0) this.remove(t.key, t.start);
    }
    while (this.cleanupTimers.size && this.cleanupTimers.peek() <= watermark) {
      const t = this.cleanupTimers.pop();
      const [open] = this.slotsOf(t, this.allowedLatenessMs);
      if (open) this.remove(t.key, t.start);
    }
  }
}

/** The key of an aligned window's timers, which fire every key's window at that start. */
const ALL_KEYS = '';
