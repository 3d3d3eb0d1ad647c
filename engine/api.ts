/**
 * @module api
 * The public plugin surface. Built-in operators, sources and sinks are written against exactly this module, so a
 * custom operator is as capable as a built-in one.
 *
 * @example
 * ```ts
 * import { defineOperator, z, compileExpression, evalContext } from 'abflow/api';
 * export const double = defineOperator({
 *   kind: 'double', summary: 'Doubles a numeric column.', execution: 'parallel',
 *   config: z.object({ column: z.string() }).strict(),
 *   examples: [{ title: 'Double the amount', yaml: 'kind: double\nconfig: { column: amount }' }],
 *   outputSchemas: (cfg, [input]) => ({ out: input! }),
 *   create: (cfg) => ({ processBatch(batch, out) { out.emit(batch); } }),
 * });
 * export const abflowComponents = [double];
 * ```
 */
import type { Schema as SchemaT } from 'apache-arrow';
import { AbflowError, suggestion } from './errors.js';
import type { OperatorSpec, SinkSpec, SourceSpec } from './operator.js';
import { describeSchema } from './types.js';

type Define<S> = Omit<S, 'role'>;

/** Defines an operator. `execution: 'parallel'` operators must be stateless per batch; they are fused into chains
 * and run in the worker pool. */
export function defineOperator<C>(spec: Define<OperatorSpec<C>>): OperatorSpec<C> {
  return Object.freeze({ ...spec, role: 'operator' as const });
}

/** Defines a source. Sources run on the coordinating thread; heavy decoding belongs in a `decoder` operator. */
export function defineSource<C>(spec: Define<SourceSpec<C>>): SourceSpec<C> {
  return Object.freeze({ ...spec, role: 'source' as const });
}

/** Defines a sink. `close()` must make all output durable; `abort()` releases without committing. */
export function defineSink<C>(spec: Define<SinkSpec<C>>): SinkSpec<C> {
  return Object.freeze({ ...spec, role: 'sink' as const });
}

export { z } from 'zod';
export { lazyRequire } from './lazy.js';
export { duckdbApi, duckdbConnect, duckdbPrivate } from './duckdb.js';
export { quoteIdent, quoteLiteral, SQL_TYPES, type SqlDialectName } from './sql.js';
export {
  describePgError,
  describePgTarget,
  isTransientPgError,
  pgClientConfig,
  type PgConnectionConfig,
  pgConnectionConfig,
  pgLib,
  type PgRetryPolicy,
  withPgRetry,
} from './postgres.js';
export type {
  AnySpec,
  Collector,
  Decoder,
  Example,
  Execution,
  KeyedState,
  Operator,
  OperatorContext,
  OperatorSpec,
  Sink,
  SinkContext,
  SinkSpec,
  Source,
  SourceContext,
  SourceOutput,
  SourceSpec,
} from './operator.js';
export { AbflowError };
export { duration, signedDuration } from './plan/duration.js';
export {
  type ColumnType,
  columnTypeOf,
  columnTypeSchema,
  describeSchema,
  fieldOf,
  fieldsOf,
  fieldType,
  schemaOf,
  type SchemaSpec,
  SOURCE_TEXT,
  toArrowType,
} from './types.js';
export {
  appendValue,
  batchFromRows,
  cellValue,
  ColumnBuilder,
  columnData,
  concatBatches,
  emptyBatch,
  float64Data,
  int64Halves,
  repeatedString,
  isValid,
  makeBatch,
  numbersOf,
  readInt64s,
  rowObject,
  stringsOf,
  takeBatch,
  validityBytes,
  writeInt64,
} from './arrow/columns.js';
export {
  compileAst,
  type CompiledExpression,
  compileExpression,
  compilePredicate,
  evalContext,
  type EvalContext,
  ExpressionScope,
  partitionRows,
} from './expr/compile.js';
export { canonicalUtc, isoOfMicros, microsToMs, parseTimestamp, parseTimestampMicros } from './time/timestamps.js';
export { PlanRegex } from './expr/regex.js';
export { redactSecrets } from './redact.js';
export { nearestExisting } from './policy.js';
export { castNode } from './expr/functions.js';
export { parseExpression, type Expression } from './expr/parse.js';
export type { Node as ExprNode } from './expr/compile.js';
export { type Vec, vecFromData, vecToData } from './expr/vec.js';
export { DEAD_LETTER_SCHEMA } from './deadletter.js';
export { backoffMs, type BreakerState, CircuitBreaker, parseRetryAfter, RateLimiter, type RetryPolicy } from './retry.js';
export { compileJsonTemplate, compileTemplate, type JsonTemplate, render, type Template } from './template.js';
export * from './time/windows.js';
export * from './time/watermark.js';
export { type Clock, ManualClock, systemClock } from './time/clock.js';
export { keyHash, keyReader, MAX_PARALLELISM } from './runtime/partition.js';
export { type Data, Field, type RecordBatch, Schema } from 'apache-arrow';

/**
 * Runs `fn` (a compile-time check) and prefixes the config-relative `path` onto any AbflowError it throws, so plan
 * errors point at the exact field, e.g. `atPath(['columns', 'usd'], () => compileExpression(text, schema))`.
 */
export function atPath<T>(path: readonly (string | number)[], fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof AbflowError) e.path = [...path, ...(e.path ?? [])];
    throw e;
  }
}

/** Looks a column up by name, with the closest names in the error. */
export function requireColumn(schema: SchemaT, name: string, path: readonly (string | number)[]): number {
  const i = schema.fields.findIndex((f) => f.name === name);
  if (i < 0) {
    const hint = suggestion(
      name,
      schema.fields.map((f) => f.name),
    );
    throw new AbflowError('expression_column', `unknown column \`${name}\``, {
      path,
      hint: `${hint ? hint + ' ' : ''}available columns: ${describeSchema(schema)}`,
    });
  }
  return i;
}
