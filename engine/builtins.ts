/**
 * @module builtins
 * The composition root: the only engine module that knows the built-in operators and connectors exist. It builds
 * the default registry and lists the module URLs pool workers load (built-ins first, then user plugins).
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import * as connectors from '../connectors/index.js';
import * as operators from '../operators/index.js';
import { AbflowError } from './errors.js';
import type { AnySpec } from './operator.js';
import { Registry } from './registry.js';

const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

export const BUILTIN_MODULES: readonly string[] = [
  new URL(`../operators/index${ext}`, import.meta.url).href,
  new URL(`../connectors/index${ext}`, import.meta.url).href,
];

export interface Components {
  readonly registry: Registry;
  /** Module URLs for the worker pool. */
  readonly modules: readonly string[];
}

/** The default registry, extended with user plugin modules (paths or URLs exporting `abflowComponents`). */
export async function loadComponents(plugins: readonly string[] = []): Promise<Components> {
  const specs: AnySpec[] = [...operators.abflowComponents, ...connectors.abflowComponents];
  const modules = [...BUILTIN_MODULES];
  for (const p of plugins) {
    const url = /^[a-z]+:/.test(p) ? p : pathToFileURL(resolve(p)).href;
    const mod = (await import(url).catch((e: Error) => {
      throw new AbflowError('config', `cannot load plugin ${p}: ${e.message}`);
    })) as { abflowComponents?: readonly AnySpec[] };
    if (!Array.isArray(mod.abflowComponents))
      throw new AbflowError('config', `plugin ${p} does not export \`abflowComponents\` (an array of defineOperator/defineSource/defineSink results)`);
    specs.push(...mod.abflowComponents);
    modules.push(url);
  }
  return { registry: new Registry(specs), modules };
}
