/**
 * The injected clocks (time/clock.ts): the manual clock tests drive time with, and the system clock production runs.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../../../engine/time/clock.js';

describe('ManualClock', () => {
  it('moves both readings only when told, from its start', async () => {
    const c = new ManualClock(1_000);
    expect([c.now(), c.monotonic()]).toEqual([1_000, 0]);
    await c.advance(250);
    expect([c.now(), c.monotonic()]).toEqual([1_250, 250]);
  });

  it('wakes sleepers when they are due, in due order, and not before', async () => {
    const c = new ManualClock();
    const woke: string[] = [];
    void c.sleep(300).then(() => woke.push('300'));
    void c.sleep(100).then(() => woke.push('100'));
    await c.advance(50);
    void c.sleep(100).then(() => woke.push('150')); // due at 150
    await c.advance(49);
    expect(woke).toEqual([]);
    await c.advance(1);
    expect(woke).toEqual(['100']);
    await c.advance(200);
    expect(woke).toEqual(['100', '150', '300']);
    await c.advance(1_000);
    expect(woke).toEqual(['100', '150', '300']);
  });

  it('resolves a sleep of zero or less at once, and forgets a sleeper whose wait was aborted', async () => {
    const c = new ManualClock();
    let zero = false;
    await c.sleep(0).then(() => (zero = true));
    expect(zero).toBe(true);
    await c.sleep(-5);
    const abort = new AbortController();
    const woke: string[] = [];
    void c.sleep(10, abort.signal).then(() => woke.push('aborted'));
    void c.sleep(10).then(() => woke.push('kept'));
    abort.abort();
    await c.advance(10);
    expect(woke).toEqual(['kept']);
  });
});

describe('systemClock', () => {
  it('reads the wall clock and a monotonic clock', () => {
    const before = Date.now();
    expect(systemClock.now()).toBeGreaterThanOrEqual(before);
    const a = systemClock.monotonic();
    expect(systemClock.monotonic()).toBeGreaterThanOrEqual(a);
  });

  it('sleeps on a timer (a negative wait is none), and an abort lets go of the timer', async () => {
    await systemClock.sleep(-1);
    await systemClock.sleep(1);
    const abort = new AbortController();
    let settled = false;
    void systemClock.sleep(5, abort.signal).then(() => (settled = true));
    abort.abort();
    await new Promise((r) => setTimeout(r, 30));
    expect(settled).toBe(false);
  });
});
