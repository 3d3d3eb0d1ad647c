/**
 * @module lazy
 * Client libraries loaded on first use. Every worker thread imports every component module (built-ins and plugins)
 * to find the operators it runs, so a component's database driver or SDK imported at the top of its file loaded in
 * every thread, used or not: ≈ 0.4 s of CPU per thread at start (Nexmark q5 with 7 threads spent 5.0 CPU s starting,
 * 2.7 s once they were loaded on first use). A component requires such a library where it first needs it instead.
 */
import { createRequire } from 'node:module';

/** `id` (a CommonJS package) required relative to `from` (the caller's `import.meta.url`) on the first call. */
export function lazyRequire<T>(from: string, id: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= createRequire(from)(id) as T);
}
