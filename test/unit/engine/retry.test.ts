import { describe, expect, it } from 'vitest';
import { backoffMs, CircuitBreaker, parseRetryAfter } from '../../../engine/retry.js';
import { ManualClock } from '../../../engine/api.js';

const policy = { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2 };
const headers = (h: Record<string, string>) => ({ get: (k: string) => h[k] ?? null });

describe('retry timing', () => {
  it('exponential with full jitter between half and all of the cap, capped at maxDelay', () => {
    expect([1, 2, 3, 4, 5].map((a) => backoffMs(a, policy, undefined, () => 1))).toEqual([100, 200, 400, 800, 1000]);
    expect([1, 2, 3].map((a) => backoffMs(a, policy, undefined, () => 0))).toEqual([50, 100, 200]);
  });
  it('Retry-After wins over the backoff, but not beyond maxDelay', () => {
    expect(backoffMs(1, policy, 700)).toBe(700);
    expect(backoffMs(1, policy, 60_000)).toBe(1000);
  });
  it('reads retry-after-ms, Retry-After seconds and HTTP dates', () => {
    expect(parseRetryAfter(headers({ 'retry-after-ms': '250', 'retry-after': '9' }))).toBe(250);
    expect(parseRetryAfter(headers({ 'retry-after': '2' }))).toBe(2000);
    expect(parseRetryAfter(headers({ 'retry-after': 'Tue, 24 Nov 2026 10:00:05 GMT' }), Date.parse('2026-11-24T10:00:00Z'))).toBe(5000);
    expect(parseRetryAfter(headers({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe('circuit breaker', () => {
  it('opens after N consecutive failures, lets one trial through after the cool-down, closes on success', async () => {
    const clock = new ManualClock();
    const b = new CircuitBreaker(3, 1000, clock);
    b.failure();
    b.failure();
    b.success(); // a success resets the count
    b.failure();
    b.failure();
    expect(b.allow()).toBe(true);
    b.failure();
    expect([b.state, b.opened, b.allow()]).toEqual(['open', 1, false]);
    await clock.advance(999);
    expect(b.allow()).toBe(false);
    await clock.advance(1);
    expect(b.allow()).toBe(true); // the trial
    expect(b.allow()).toBe(false); // only one
    b.success();
    expect([b.state, b.allow()]).toEqual(['closed', true]);
  });
  it('a failed trial re-opens for another cool-down', async () => {
    const clock = new ManualClock();
    const b = new CircuitBreaker(1, 500, clock);
    b.failure();
    await clock.advance(500);
    expect(b.allow()).toBe(true);
    b.failure();
    expect([b.state, b.opened, b.allow()]).toEqual(['open', 2, false]);
    await clock.advance(500);
    expect(b.allow()).toBe(true);
  });
});
