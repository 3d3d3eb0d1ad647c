/**
 * @module runtime/latch
 * A one-shot event (the job stopping, the job failing) that many awaits race against.
 *
 * Why not `Promise.race([work, longLived])`: every race adds a reaction to the long-lived promise, and that reaction
 * keeps the race's result promise, and so its value, alive until the long-lived promise settles (nodejs/node#17469).
 * A source racing every read against "stop" kept every batch it ever read: memory grew with the input. A latch's
 * waiter is removed as soon as its own work settles, so nothing outlives the race.
 */
export class Latch<V> {
  private fired: { readonly value: V } | null = null;
  private readonly waiters = new Set<(value: V) => void>();

  fire(value: V): void {
    if (this.fired) return;
    this.fired = { value };
    for (const w of this.waiters) w(value);
    this.waiters.clear();
  }

  /** Settles like `work`, or resolves with the latch's value if it fires first. */
  race<T>(work: Promise<T>): Promise<T | V> {
    if (this.fired) return Promise.resolve(this.fired.value);
    return new Promise<T | V>((resolve, reject) => {
      const onFire = (value: V) => resolve(value);
      this.waiters.add(onFire);
      work.then(
        (v) => {
          this.waiters.delete(onFire);
          resolve(v);
        },
        (e: unknown) => {
          this.waiters.delete(onFire);
          reject(e);
        },
      );
    });
  }

  /** How many races are waiting now (tests check that settled races leave none behind). */
  get waiting(): number {
    return this.waiters.size;
  }
}
