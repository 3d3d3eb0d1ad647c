/**
 * @module time/clock
 * Processing time, injected. Components read the time through their context's `clock` (never `Date.now()` or
 * `performance.now()` directly — a lint rule keeps that), so a test drives time by hand with a `ManualClock` instead
 * of sleeping, and a replay can run on a recorded clock.
 */

export interface Clock {
  /** Processing time: wall-clock epoch milliseconds. */
  now(): number;
  /** A monotonic reading in milliseconds for durations, timeouts, rates and lingering (never goes back). */
  monotonic(): number;
  /** Resolves once `ms` of this clock's time have passed; an abort lets go of the wait (the promise never settles). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  // The one place that reads the machine's clocks.
  now: () => Date.now(), // eslint-disable-line no-restricted-properties
  monotonic: () => performance.now(), // eslint-disable-line no-restricted-properties
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, ms));
      signal?.addEventListener('abort', () => clearTimeout(timer), { once: true });
    }),
};

/** A clock that moves only when told: `advance(ms)` moves both readings and wakes the sleepers that are due. */
export class ManualClock implements Clock {
  private wall: number;
  private mono = 0;
  private sleepers: { at: number; wake: () => void }[] = [];

  constructor(startEpochMs = 0) {
    this.wall = startEpochMs;
  }

  now(): number {
    return this.wall;
  }

  monotonic(): number {
    return this.mono;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((wake) => {
      const sleeper = { at: this.mono + ms, wake };
      this.sleepers.push(sleeper);
      signal?.addEventListener('abort', () => (this.sleepers = this.sleepers.filter((s) => s !== sleeper)), { once: true });
    });
  }

  /** Moves time forward by `ms` and resolves once the sleepers that became due have run their continuations. */
  async advance(ms: number): Promise<void> {
    this.wall += ms;
    this.mono += ms;
    const due = this.sleepers.filter((s) => s.at <= this.mono);
    this.sleepers = this.sleepers.filter((s) => s.at > this.mono);
    for (const s of due.sort((a, b) => a.at - b.at)) s.wake();
    await new Promise((resolve) => setImmediate(resolve));
  }
}
