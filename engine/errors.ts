/**
 * @module errors
 * One error taxonomy for the whole engine. Plan errors carry the YAML path (and, once the loader has mapped it,
 * `file:line:column`) plus a hint; runtime errors carry the node id, attached by the runtime, never by operators.
 */
import { distance } from 'fastest-levenshtein';
import { redactSecrets } from './redact.js';

export type ErrorDomain = 'user' | 'external' | 'internal';

export type ErrorCode =
  | 'yaml_syntax'
  | 'plan_schema'
  | 'unknown_kind'
  | 'unknown_field'
  | 'duplicate_id'
  | 'unknown_input'
  | 'unknown_port'
  | 'unconnected_input'
  | 'cycle'
  | 'expression_syntax'
  | 'expression_column'
  | 'expression_type'
  | 'config'
  | 'source_io'
  | 'sink_io'
  | 'operator_failed'
  | 'dead_letters'
  | 'forbidden'
  | 'internal';

export interface ErrorOptions {
  domain?: ErrorDomain;
  /** Path inside the plan document, e.g. `['operators', 2, 'config', 'where']`. */
  path?: readonly (string | number)[];
  /** Character offset inside the string value at `path` (expressions), so the column points at the exact token. */
  offset?: number;
  nodeId?: string;
  hint?: string;
  cause?: unknown;
}

export class AbflowError extends Error {
  readonly code: ErrorCode;
  readonly domain: ErrorDomain;
  path: readonly (string | number)[] | undefined;
  offset: number | undefined;
  nodeId: string | undefined;
  readonly hint: string | undefined;
  /** `file:line:column`, filled in by the plan loader. */
  location: string | undefined;

  constructor(code: ErrorCode, message: string, opts: ErrorOptions = {}) {
    // Messages travel to terminals, logs and API answers: no credential they quote goes with them.
    super(redactSecrets(message), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AbflowError';
    this.code = code;
    this.domain = opts.domain ?? 'user';
    this.path = opts.path;
    this.offset = opts.offset;
    this.nodeId = opts.nodeId;
    this.hint = opts.hint === undefined ? undefined : redactSecrets(opts.hint);
    this.location = undefined;
  }

  /** The one-line form printed by the CLI: `file:line:col: path: message (hint)`. */
  format(): string {
    const where = [this.location, this.path && this.path.length > 0 ? formatPath(this.path) : undefined].filter(Boolean).join(': ');
    const node = this.nodeId && !this.path ? `operator '${this.nodeId}': ` : '';
    const hint = this.hint ? `\n  hint: ${this.hint}` : '';
    return `${where ? where + ': ' : ''}${node}${this.message}${hint}`;
  }
}

export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

export function isAbflowError(e: unknown): e is AbflowError {
  return e instanceof Error && (e as { name?: string }).name === 'AbflowError';
}

/** Several plan errors at once: validation reports them all instead of stopping at the first. */
export class PlanErrors extends Error {
  constructor(readonly errors: AbflowError[]) {
    super(errors.map((e) => e.format()).join('\n'));
    this.name = 'PlanErrors';
  }
}

/** Closest candidates by edit distance, for "did you mean" hints. */
export function didYouMean(name: string, candidates: Iterable<string>): string[] {
  const scored = [...candidates]
    .map((c) => ({ c, d: distance(name.toLowerCase(), c.toLowerCase()) }))
    .filter(({ c, d }) => d <= Math.max(2, Math.floor(c.length / 3)) || c.includes(name) || name.includes(c))
    .sort((a, b) => a.d - b.d || a.c.localeCompare(b.c));
  // Only the closest ones: a hint with one good guess beats a list of loose ones.
  const best = scored[0]?.d;
  return scored
    .filter((s) => s.d === best)
    .slice(0, 3)
    .map((s) => s.c);
}

/** `did you mean `a` or `b`?`, or undefined when nothing is close. */
export function suggestion(name: string, candidates: Iterable<string>): string | undefined {
  const close = didYouMean(name, candidates);
  return close.length ? `did you mean ${close.map((c) => '`' + c + '`').join(' or ')}?` : undefined;
}
