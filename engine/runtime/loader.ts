/**
 * @module runtime/loader
 * How worker threads import component modules. Production loads compiled .js; the test suite runs the engine from
 * .ts sources, which need tsx's loader registered in the worker before anything else is imported (globally, so the
 * engine, apache-arrow and the operators share one module graph inside the worker).
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

let tsLoader: Promise<unknown> | undefined;

export async function importModule(url: string): Promise<unknown> {
  if (url.endsWith('.ts')) await (tsLoader ??= import('tsx/esm/api' as string).then((m) => (m as { register: () => unknown }).register()));
  return import(url);
}

/** URL of a sibling runtime module, .ts when running from sources. */
export function siblingUrl(base: string, name: string): string {
  return new URL(`./${name}${base.endsWith('.ts') ? '.ts' : '.js'}`, base).href;
}

/** Starts a worker thread on module `entry` (a URL). From compiled dist/ it is a plain worker file; when the engine
 * runs from .ts sources (the test suite), a bootstrap registers tsx's loader before the entry module is imported. */
export function startThread(entry: string, workerData: unknown): Worker {
  if (!entry.endsWith('.ts')) return new Worker(fileURLToPath(entry), { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}
