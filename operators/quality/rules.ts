/**
 * Data-quality rules as pure functions: what each rule checks and the reason code it gives. `quality_gate` applies
 * them per record (the stateful ones keep their state in a plain object, checkpointed with the operator).
 *
 * Record codes: `missing_field`, `new_field`, `type_mismatch` (drift against the declared schema), `not_null`,
 * `out_of_range`, `pattern_mismatch`, `not_in_enum`, `duplicate` (the value was seen within `unique.within`),
 * `stale` (event time older than `freshness.maxLag`), `outlier` (|z| above `outlier.zScore` against the column's
 * running mean and deviation). A rule's `code` replaces its default code.
 */
import { AbflowError, type ColumnType, parseTimestamp, PlanRegex, z } from '../../engine/api.js';
import { duration } from '../../engine/api.js';

export const ruleSchema = z
  .object({
    column: z.string().min(1).describe('Column (or record field) the rule checks.'),
    notNull: z.boolean().optional().describe('The value must be present.'),
    range: z.object({ min: z.number().optional(), max: z.number().optional() }).strict().optional().describe('Inclusive numeric bounds.'),
    regex: z.string().optional().describe('The text must match (JavaScript syntax, anchored by you).'),
    enum: z
      .array(z.union([z.string(), z.number(), z.boolean()]))
      .min(1)
      .optional()
      .describe('Allowed values.'),
    unique: z.object({ within: duration() }).strict().optional().describe('No repeat of the value within this time (processing time).'),
    freshness: z.object({ maxLag: duration() }).strict().optional().describe('The value is an event time at most this old when checked.'),
    outlier: z
      .object({ zScore: z.number().positive().default(4), minCount: z.number().int().min(2).default(30) })
      .strict()
      .optional()
      .describe('Flags values further than zScore deviations from the running mean.'),
    code: z
      .string()
      .regex(/^[a-z][a-z0-9_]*$/)
      .optional()
      .describe('Reason code to report instead of the default.'),
  })
  .strict()
  .refine((r) => [r.notNull, r.range, r.regex, r.enum, r.unique, r.freshness, r.outlier].filter((x) => x !== undefined).length === 1, {
    message: 'a rule has exactly one check: notNull, range, regex, enum, unique, freshness or outlier',
  });

export type Rule = z.output<typeof ruleSchema>;

export interface Violation {
  readonly code: string;
  readonly column: string;
  readonly message: string;
}

/** Running state of the stateful rules, by rule index: plain data for checkpoints. */
export interface RuleState {
  seen: Record<number, Record<string, number>>;
  stats: Record<number, { n: number; mean: number; m2: number }>;
}

export const newRuleState = (): RuleState => ({ seen: {}, stats: {} });

export interface CompiledRule {
  readonly index: number;
  readonly rule: Rule;
  readonly check: (v: unknown, now: number, state: RuleState) => Violation | null;
}

const numeric = (v: unknown): number | null =>
  typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : null;
const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : String(v));

export function compileRule(rule: Rule, index: number, type: ColumnType | undefined, path: (string | number)[]): CompiledRule {
  const col = rule.column;
  const fail = (code: string, message: string): Violation => ({ code: rule.code ?? code, column: col, message });
  let check: CompiledRule['check'];
  if (rule.notNull) check = (v) => (v === null || v === undefined ? fail('not_null', `${col} is null`) : null);
  else if (rule.range) {
    const { min, max } = rule.range;
    check = (v) => {
      if (v === null || v === undefined) return null;
      const x = numeric(v);
      if (x === null) return fail('out_of_range', `${col} = ${show(v)} is not a number`);
      if ((min !== undefined && x < min) || (max !== undefined && x > max))
        return fail('out_of_range', `${col} = ${x} is outside [${min ?? '-∞'}, ${max ?? '∞'}]`);
      return null;
    };
  } else if (rule.regex !== undefined) {
    let re: PlanRegex;
    try {
      re = PlanRegex.compile(rule.regex);
    } catch (e) {
      throw new AbflowError('config', `invalid regex: ${(e as Error).message}`, { path: [...path, 'regex'] });
    }
    check = (v) =>
      v === null || v === undefined || re.test(String(v)) ? null : fail('pattern_mismatch', `${col} = ${show(v)} does not match /${rule.regex}/`);
  } else if (rule.enum) {
    const allowed = new Set(rule.enum.map(String));
    check = (v) =>
      v === null || v === undefined || allowed.has(String(v))
        ? null
        : fail('not_in_enum', `${col} = ${show(v)} is not one of ${rule.enum!.map(show).join(', ')}`);
  } else if (rule.unique) {
    const within = rule.unique.within;
    check = (v, now, s) => {
      if (v === null || v === undefined) return null;
      const seen = (s.seen[index] ??= {});
      const k = String(v);
      const at = seen[k];
      seen[k] = now;
      return at !== undefined && now - at < within
        ? fail('duplicate', `${col} = ${show(v)} was already seen ${now - at} ms ago (unique within ${within} ms)`)
        : null;
    };
  } else if (rule.freshness) {
    if (type !== undefined && type !== 'timestamp' && type !== 'string')
      throw new AbflowError('config', `freshness needs a timestamp column; ${col} is ${type}`, { path: [...path, 'column'] });
    const maxLag = rule.freshness.maxLag;
    check = (v, now) => {
      if (v === null || v === undefined) return null;
      const t = typeof v === 'string' ? parseTimestamp(v) : typeof v === 'number' ? v : null;
      if (t === null) return fail('stale', `${col} = ${show(v)} is not a timestamp`);
      return now - t > maxLag ? fail('stale', `${col} is ${now - t} ms old (max ${maxLag} ms)`) : null;
    };
  } else {
    const { zScore, minCount } = rule.outlier!;
    check = (v, _now, s) => {
      const x = numeric(v);
      if (x === null) return null;
      const st = (s.stats[index] ??= { n: 0, mean: 0, m2: 0 });
      if (st.n >= minCount) {
        const sd = Math.sqrt(st.m2 / (st.n - 1));
        const z = sd > 0 ? Math.abs(x - st.mean) / sd : x === st.mean ? 0 : Infinity;
        if (z > zScore)
          return fail('outlier', `${col} = ${x} is ${Number.isFinite(z) ? z.toFixed(1) : '∞'} deviations from the mean ${st.mean.toPrecision(6)}`);
      }
      // Welford's update, only with values that were not outliers, so an anomaly cannot widen its own band.
      st.n++;
      const d = x - st.mean;
      st.mean += d / st.n;
      st.m2 += d * (x - st.mean);
      return null;
    };
  }
  return { index, rule, check };
}

/** Forgets unique-rule values older than their window, so state stays bounded by the distinct values per window. */
export function expireSeen(rules: readonly CompiledRule[], state: RuleState, now: number): void {
  for (const r of rules) {
    if (!r.rule.unique) continue;
    const seen = state.seen[r.index];
    if (!seen) continue;
    for (const [k, at] of Object.entries(seen)) if (now - at >= r.rule.unique.within) delete seen[k];
  }
}

/** Drift of one JSON record against the declared schema: absent fields, fields not declared, values of another type. */
export function recordDrift(record: Record<string, unknown>, schema: Readonly<Record<string, ColumnType>>): Violation[] {
  const out: Violation[] = [];
  for (const [name, type] of Object.entries(schema)) {
    if (!(name in record)) {
      out.push({ code: 'missing_field', column: name, message: `field ${name} is missing` });
      continue;
    }
    const v = record[name];
    if (v !== null && !fitsType(v, type))
      out.push({ code: 'type_mismatch', column: name, message: `${name} = ${show(typeof v === 'object' ? JSON.stringify(v) : v)} is not ${type}` });
  }
  for (const name of Object.keys(record))
    if (!(name in schema)) out.push({ code: 'new_field', column: name, message: `field ${name} is not in the declared schema` });
  return out;
}

function fitsType(v: unknown, type: ColumnType): boolean {
  switch (type) {
    case 'int32':
    case 'int64':
      return typeof v === 'number' && Number.isInteger(v);
    case 'float64':
      return typeof v === 'number';
    case 'bool':
      return typeof v === 'boolean';
    case 'string':
      return typeof v === 'string';
    case 'timestamp':
    case 'date':
      return typeof v === 'string' && parseTimestamp(v) !== null;
    default:
      return true;
  }
}
