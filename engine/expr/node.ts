/**
 * @module expr/node
 * What the expression compiler and its function library share: the static types, the evaluation context of a batch
 * (with the rows whose value could not be computed), and the compiled node. A module of its own so the two do not
 * import each other.
 */
import type { RecordBatch } from 'apache-arrow';
import { type ColumnType, isNumeric } from '../types.js';
import type { Vec } from './vec.js';

/** The static type of an expression; `null` is the type of the literal `null`. */
export type ExprType = ColumnType | 'null';

export interface EvalContext {
  readonly batch: RecordBatch;
  readonly n: number;
  /** Column vectors already read in this batch, shared by every expression of an operator. */
  readonly columns: Map<number, Vec>;
  /** Row index → reason, for rows whose value could not be computed. */
  errors: Map<number, string> | null;
}

export function evalContext(batch: RecordBatch, columns: Map<number, Vec> = new Map()): EvalContext {
  return { batch, n: batch.numRows, columns, errors: null };
}

export function rowError(ctx: EvalContext, i: number, reason: string): void {
  (ctx.errors ??= new Map()).has(i) || ctx.errors.set(i, reason);
}

export interface Node {
  readonly type: ExprType;
  /** Set when the expression is a bare column reference, so operators can reuse the Arrow column unchanged. */
  readonly column?: number;
  /** Set for literals: lets functions demand constant arguments (regex patterns, units). */
  readonly literal?: { value: unknown };
  eval(ctx: EvalContext): Vec;
}

const NUMERIC_RANK: Partial<Record<ExprType, number>> = { int32: 1, int64: 2, float64: 3 };

/** The common type of branches (CASE, coalesce): equal types, or the widest numeric type; null fits anything. */
export function unify(types: ExprType[]): ExprType | undefined {
  const real = types.filter((t) => t !== 'null');
  if (!real.length) return 'null';
  if (real.every((t) => t === real[0])) return real[0];
  if (real.every((t) => isNumeric(t as ColumnType))) return real.reduce((a, b) => ((NUMERIC_RANK[a] ?? 0) >= (NUMERIC_RANK[b] ?? 0) ? a : b));
  return undefined;
}
