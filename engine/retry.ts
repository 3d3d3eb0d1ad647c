/**
 * @module retry
 * Retry timing, Retry-After parsing and a circuit breaker for calls to external services (models, webhooks, HTTP
 * write-backs): pure logic over an injected clock, so the rules are unit-tested without waiting.
 */
import { type Clock, systemClock } from './time/clock.js';

export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly multiplier: number;
}

/** Delay before attempt `attempt + 1` (attempt ≥ 1): exponential with full jitter (AWS's recommendation, which
 * spreads a burst of 429s), or the server's Retry-After when it sent one, which wins: it knows when it recovers. */
export function backoffMs(attempt: number, p: RetryPolicy, retryAfterMs?: number, random: () => number = Math.random): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, p.maxDelayMs);
  const cap = Math.min(p.maxDelayMs, p.initialDelayMs * p.multiplier ** (attempt - 1));
  return cap / 2 + (random() * cap) / 2;
}

/** `Retry-After` (seconds or an HTTP date) or OpenAI's `retry-after-ms`, in ms from `now`. */
export function parseRetryAfter(headers: { get(name: string): string | null } | undefined, now = systemClock.now()): number | undefined {
  const ms = Number(headers?.get('retry-after-ms') ?? NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const v = headers?.get('retry-after');
  if (!v) return undefined;
  const s = Number(v);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export type BreakerState = 'closed' | 'open' | 'half_open';

/**
 * Opens after `threshold` consecutive failed calls; while open no call is made (records take the failure policy at
 * once, so the stream keeps moving). After `cooldownMs` one trial call is let through (half-open): success closes
 * the circuit, failure opens it for another cool-down.
 */
export class CircuitBreaker {
  state: BreakerState = 'closed';
  /** How many times the circuit opened. */
  opened = 0;
  private failures = 0;
  private openedAt = 0;
  private trial = false;

  constructor(
    private readonly threshold: number,
    private readonly cooldownMs: number,
    private readonly clock: Clock = systemClock,
  ) {}

  private now(): number {
    return this.clock.monotonic();
  }

  /** Whether a call may be made now. */
  allow(): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open' && this.now() - this.openedAt >= this.cooldownMs) {
      this.state = 'half_open';
      this.trial = false;
    }
    if (this.state === 'half_open' && !this.trial) {
      this.trial = true;
      return true;
    }
    return false;
  }

  success(): void {
    this.failures = 0;
    this.state = 'closed';
  }

  failure(): void {
    this.failures++;
    if (this.state === 'half_open' || (this.state === 'closed' && this.failures >= this.threshold)) {
      this.state = 'open';
      this.openedAt = this.now();
      this.opened++;
    }
  }
}

/** A token bucket: `take()` resolves when a request may start, at most `perSecond` on average, `burst` at once. */
export class RateLimiter {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly perSecond: number,
    private readonly burst = Math.max(1, Math.ceil(perSecond)),
    private readonly clock: Clock = systemClock,
  ) {
    this.tokens = this.burst;
    this.last = clock.monotonic();
  }

  take(): Promise<void> {
    // Serialised, so waiters are served in arrival order.
    this.queue = this.queue.then(async () => {
      for (;;) {
        const t = this.clock.monotonic();
        this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.perSecond) / 1000);
        this.last = t;
        if (this.tokens >= 1) {
          this.tokens -= 1;
          return;
        }
        await this.clock.sleep(Math.ceil(((1 - this.tokens) * 1000) / this.perSecond));
      }
    });
    return this.queue;
  }
}
