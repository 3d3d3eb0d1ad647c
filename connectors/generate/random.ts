/**
 * Deterministic randomness for generators: every event draws from a PRNG seeded by (seed, event number), so an event
 * is a pure function of its number — the same at any parallelism, batch size or restart point (Beam's Nexmark rule).
 */

/** splitmix32: a fast, well-mixed 32-bit hash used as the per-event seed. */
function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** mulberry32 stream for one event. */
export class EventRandom {
  private s: number;

  constructor(seed: number, event: number) {
    // Mix the high and low halves of the event number so events past 2^32 do not repeat.
    this.s = splitmix32(splitmix32(seed ^ (event >>> 0)) ^ Math.floor(event / 4294967296));
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
}
