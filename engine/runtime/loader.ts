/**
 * @module runtime/loader
 * How worker threads import component modules. Production loads compiled .js; the test suite runs the engine from
 * .ts sources, which need tsx's loader registered in the worker before anything else is imported (globally, so the
 * engine, apache-arrow and the operators share one module graph inside the worker).
 */
let tsLoader: Promise<unknown> | undefined;

export async function importModule(url: string): Promise<unknown> {
  if (url.endsWith('.ts')) await (tsLoader ??= import('tsx/esm/api' as string).then((m) => (m as { register: () => unknown }).register()));
  return import(url);
}

/** URL of a sibling runtime module, .ts when running from sources. */
export function siblingUrl(base: string, name: string): string {
  return new URL(`./${name}${base.endsWith('.ts') ? '.ts' : '.js'}`, base).href;
}
