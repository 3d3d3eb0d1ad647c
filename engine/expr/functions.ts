/**
 * @module expr/functions
 * The expression function library. Each entry checks its argument types at compile time and returns a columnar
 * kernel. Functions that need constant arguments (regex patterns, time units, cast targets) demand literals, so the
 * work of compiling them happens once per plan, not per row.
 */
import { COLUMN_TYPES, type ColumnType, isNumeric } from '../types.js';
import { type EvalContext, type ExprType, type Node, rowError, unify } from './node.js';
import { daysFromCivil, parseTimestamp } from '../time/timestamps.js';
import { PlanRegex } from './regex.js';
import { isNullAt, type Vec } from './vec.js';
import { systemClock } from '../time/clock.js';

export type FnArg = Node;
type Fail = (message: string) => never;

export interface FunctionDef {
  readonly minArgs: number;
  readonly maxArgs: number;
  readonly signature: string;
  build(args: FnArg[], fail: Fail): Node;
}

type NumV = Extract<Vec, { kind: 'num' }>;

const DAY_MS = 86_400_000;

function numeric(t: ExprType): boolean {
  return t === 'null' || isNumeric(t as ColumnType);
}

function needLiteral(a: FnArg | undefined, what: string, fail: Fail): unknown {
  if (!a?.literal) fail(`${what} must be a literal`);
  return a!.literal!.value;
}

/** A kernel that maps each non-null row through `f`; `f` returning undefined marks a row error. */
function rowwise(type: ExprType, args: FnArg[], f: (vals: unknown[], ctx: EvalContext, i: number) => unknown, opts: { nullIn?: boolean } = {}): Node {
  return {
    type,
    eval(ctx) {
      const vs = args.map((a) => a.eval(ctx));
      const n = ctx.n;
      const vals = new Array<unknown>(vs.length);
      const outS: (string | null)[] | null = type === 'string' ? new Array(n) : null;
      const outN = type === 'string' || type === 'bool' ? null : new Float64Array(n);
      const outB = type === 'bool' ? new Uint8Array(n) : null;
      const valid = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        let anyNull = false;
        for (let k = 0; k < vs.length; k++) {
          const v = vs[k]!;
          if (isNullAt(v, i)) {
            anyNull = true;
            vals[k] = null;
          } else vals[k] = v.kind === 'bool' ? v.v[i] === 1 : v.v[i];
        }
        if (anyNull && !opts.nullIn) {
          if (outS) outS[i] = null;
          continue;
        }
        const r = f(vals, ctx, i);
        if (r === null || r === undefined || (typeof r === 'number' && Number.isNaN(r))) {
          if (outS) outS[i] = null;
          continue;
        }
        valid[i] = 1;
        if (outS) outS[i] = r as string;
        else if (outB) outB[i] = r ? 1 : 0;
        else outN![i] = r as number;
      }
      if (outS) return { kind: 'str', v: outS };
      if (outB) return { kind: 'bool', v: outB, valid };
      return { kind: 'num', v: outN!, valid };
    },
  };
}

function math(f: (x: number) => number, keepInt = false): FunctionDef {
  return {
    minArgs: 1,
    maxArgs: 1,
    signature: '(number) → number',
    build([x], fail) {
      if (!numeric(x!.type)) fail(`needs a number, got ${x!.type}`);
      const type = keepInt && x!.type !== 'float64' && x!.type !== 'null' ? x!.type : 'float64';
      return {
        type,
        eval(ctx) {
          const a = x!.eval(ctx) as NumV;
          const v = new Float64Array(ctx.n);
          for (let i = 0; i < ctx.n; i++) v[i] = f(a.v[i]!);
          let valid = a.valid;
          for (let i = 0; i < ctx.n; i++)
            if (!Number.isFinite(v[i]!)) {
              valid = valid ? (valid === a.valid ? valid.slice() : valid) : new Uint8Array(ctx.n).fill(1);
              valid[i] = 0;
            }
          return { kind: 'num', v, valid };
        },
      };
    },
  };
}

function strToStr(f: (s: string, lits: unknown[]) => string, extra: ExprType[] = [], literals = 0): FunctionDef {
  const count = 1 + extra.length;
  return {
    minArgs: count - literals,
    maxArgs: count,
    signature: `(string${extra.map((t) => ', ' + t).join('')}) → string`,
    build(args, fail) {
      if (args[0]!.type !== 'string' && args[0]!.type !== 'null') fail(`needs a string, got ${args[0]!.type}`);
      args.slice(1).forEach((a, k) => {
        if (a.type !== extra[k] && a.type !== 'null' && !(numeric(a.type) && isNumeric(extra[k] as ColumnType)))
          fail(`argument ${k + 2} must be ${extra[k]}, got ${a.type}`);
      });
      return rowwise('string', args, (vals) => f(vals[0] as string, vals.slice(1)));
    },
  };
}

function strTest(f: (s: string, arg: string) => boolean): FunctionDef {
  return {
    minArgs: 2,
    maxArgs: 2,
    signature: '(string, string) → bool',
    build(args, fail) {
      for (const a of args) if (a.type !== 'string' && a.type !== 'null') fail(`needs strings, got ${a.type}`);
      return rowwise('bool', args, (v) => f(v[0] as string, v[1] as string));
    },
  };
}

function regex(a: FnArg | undefined, fail: Fail): PlanRegex {
  const p = needLiteral(a, 'the pattern', fail);
  try {
    return PlanRegex.compile(String(p));
  } catch (e) {
    return fail(`invalid regular expression: ${(e as Error).message}`);
  }
}

const TRUNC_UNITS = ['second', 'minute', 'hour', 'day', 'week', 'month', 'quarter', 'year'] as const;
const PARTS = ['year', 'quarter', 'month', 'week', 'day', 'dow', 'doy', 'hour', 'minute', 'second', 'millisecond', 'epoch'] as const;

function truncate(ms: number, unit: (typeof TRUNC_UNITS)[number]): number {
  const fixed = { second: 1000, minute: 60_000, hour: 3_600_000, day: DAY_MS } as const;
  if (unit in fixed) {
    const w = fixed[unit as keyof typeof fixed];
    return Math.floor(ms / w) * w;
  }
  const d = new Date(ms);
  if (unit === 'week') {
    // ISO weeks start on Monday.
    const day = Math.floor(ms / DAY_MS) * DAY_MS;
    return day - ((d.getUTCDay() + 6) % 7) * DAY_MS;
  }
  const month = unit === 'year' ? 0 : unit === 'quarter' ? d.getUTCMonth() - (d.getUTCMonth() % 3) : d.getUTCMonth();
  return utcDay(d.getUTCFullYear(), month, 1);
}

/** Epoch ms of a UTC day (month 0-11); not Date.UTC, which maps years 0-99 to 1900-1999. */
function utcDay(year: number, month: number, day: number): number {
  return daysFromCivil(year, month + 1, day) * DAY_MS;
}

function extract(ms: number, part: (typeof PARTS)[number]): number {
  const d = new Date(ms);
  switch (part) {
    case 'year':
      return d.getUTCFullYear();
    case 'quarter':
      return Math.floor(d.getUTCMonth() / 3) + 1;
    case 'month':
      return d.getUTCMonth() + 1;
    case 'week': {
      // The ISO week's Thursday decides its year.
      const thursday = new Date(utcDay(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) + (4 - (d.getUTCDay() || 7)) * DAY_MS);
      return Math.ceil(((thursday.getTime() - utcDay(thursday.getUTCFullYear(), 0, 1)) / DAY_MS + 1) / 7);
    }
    case 'day':
      return d.getUTCDate();
    case 'dow':
      return d.getUTCDay();
    case 'doy':
      return Math.floor((ms - utcDay(d.getUTCFullYear(), 0, 1)) / DAY_MS) + 1;
    case 'hour':
      return d.getUTCHours();
    case 'minute':
      return d.getUTCMinutes();
    case 'second':
      return d.getUTCSeconds();
    case 'millisecond':
      return d.getUTCMilliseconds();
    case 'epoch':
      return Math.floor(ms / 1000);
  }
}

/** Parses a duration literal such as '5m' or '1h30m' into ms (used by interval()). */
export function parseDurationMs(s: string): number | null {
  const re = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/gy;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS, w: 7 * DAY_MS };
  let total = 0;
  let matched = 0;
  const t = s.replace(/\s+/g, '');
  let m: RegExpExecArray | null;
  while ((m = re.exec(t))) {
    total += Number(m[1]) * unit[m[2]!]!;
    matched = re.lastIndex;
  }
  return matched === t.length && t.length > 0 ? Math.round(total) : null;
}

/** Converts one value to `to`; undefined when it cannot be represented (a row error, or null for try_cast). */
function castValue(v: unknown, from: ExprType, to: ColumnType): unknown {
  switch (to) {
    case 'string':
      if (from === 'timestamp') return new Date(v as number).toISOString();
      if (from === 'date') return new Date((v as number) * DAY_MS).toISOString().slice(0, 10);
      return String(v);
    case 'bool':
      if (typeof v === 'boolean') return v;
      if (typeof v === 'number') return v !== 0;
      if (typeof v === 'string') {
        const t = v.trim().toLowerCase();
        if (['true', 't', '1', 'yes', 'y'].includes(t)) return true;
        if (['false', 'f', '0', 'no', 'n'].includes(t)) return false;
      }
      return undefined;
    case 'int32':
    case 'int64': {
      const n = typeof v === 'string' ? (v.trim() === '' ? NaN : Number(v)) : typeof v === 'boolean' ? Number(v) : (v as number);
      if (!Number.isFinite(n)) return undefined;
      const r = Math.trunc(n);
      if (to === 'int32' && (r > 2147483647 || r < -2147483648)) return undefined;
      if (!Number.isSafeInteger(r)) return undefined;
      return r;
    }
    case 'float64': {
      const n = typeof v === 'string' ? (v.trim() === '' ? NaN : Number(v)) : Number(v);
      return Number.isNaN(n) ? undefined : n;
    }
    case 'timestamp':
      if (typeof v === 'string') return parseTimestamp(v) ?? undefined;
      if (from === 'date') return (v as number) * DAY_MS;
      return typeof v === 'number' ? v : undefined;
    case 'date':
      if (typeof v === 'string') {
        const ms = parseTimestamp(v);
        return ms === null ? undefined : Math.floor(ms / DAY_MS);
      }
      if (from === 'timestamp') return Math.floor((v as number) / DAY_MS);
      return typeof v === 'number' ? Math.trunc(v) : undefined;
  }
}

/** A cast node; `strict` casts report failures as row errors (→ dead letter), `try_cast` gives null. */
export function castNode(x: FnArg, to: ColumnType, strict: boolean): Node {
  if (x.type === to) return x;
  const from = x.type;
  return rowwise(to, [x], (vals, ctx, i) => {
    const r = castValue(vals[0], from, to);
    if (r === undefined && strict) rowError(ctx, i, `cannot cast ${JSON.stringify(vals[0])} (${from}) to ${to}`);
    return r;
  });
}

function castTo(to: ColumnType): FunctionDef {
  return { minArgs: 1, maxArgs: 1, signature: `(any) → ${to}`, build: ([x]) => castNode(x!, to, true) };
}

function castFn(strict: boolean): FunctionDef {
  return {
    minArgs: 2,
    maxArgs: 2,
    signature: `(value, '${COLUMN_TYPES.join("' | '")}')`,
    build([x, t], fail) {
      const to = needLiteral(t, 'the target type', fail) as ColumnType;
      if (!COLUMN_TYPES.includes(to)) fail(`unknown type '${String(to)}'; types: ${COLUMN_TYPES.join(', ')}`);
      return castNode(x!, to, strict);
    },
  };
}

function variadic(name: string, pick: 'min' | 'max'): FunctionDef {
  return {
    minArgs: 1,
    maxArgs: Infinity,
    signature: `${name}(number, ...) → number`,
    build(args, fail) {
      const type = unify(args.map((a) => a.type));
      if (!type || !(numeric(type) || type === 'timestamp')) fail(`needs numbers of one kind, got ${args.map((a) => a.type).join(', ')}`);
      return rowwise(
        type!,
        args,
        (vals) => {
          const nums = vals.filter((v) => v !== null) as number[];
          return nums.length ? Math[pick](...nums) : null;
        },
        { nullIn: true },
      );
    },
  };
}

export const FUNCTIONS: Record<string, FunctionDef> = {
  // null handling
  coalesce: {
    minArgs: 1,
    maxArgs: Infinity,
    signature: 'coalesce(a, b, ...) → first non-null',
    build(args, fail) {
      const type = unify(args.map((a) => a.type));
      if (type === undefined) fail(`arguments have incompatible types: ${args.map((a) => a.type).join(', ')}`);
      return rowwise(type!, args, (vals) => vals.find((v) => v !== null) ?? null, { nullIn: true });
    },
  },
  is_null: {
    minArgs: 1,
    maxArgs: 1,
    signature: 'is_null(x) → bool',
    build: ([x]) => ({
      type: 'bool',
      eval(ctx: EvalContext): Vec {
        const a = x!.eval(ctx);
        const v = new Uint8Array(ctx.n);
        for (let i = 0; i < ctx.n; i++) v[i] = isNullAt(a, i) ? 1 : 0;
        return { kind: 'bool', v, valid: null };
      },
    }),
  },
  is_not_null: {
    minArgs: 1,
    maxArgs: 1,
    signature: 'is_not_null(x) → bool',
    build: ([x]) => ({
      type: 'bool',
      eval(ctx: EvalContext): Vec {
        const a = x!.eval(ctx);
        const v = new Uint8Array(ctx.n);
        for (let i = 0; i < ctx.n; i++) v[i] = isNullAt(a, i) ? 0 : 1;
        return { kind: 'bool', v, valid: null };
      },
    }),
  },
  // casts
  cast: castFn(true),
  try_cast: castFn(false),
  int: castTo('int64'),
  float: castTo('float64'),
  string: castTo('string'),
  bool: castTo('bool'),
  // math
  abs: math(Math.abs, true),
  floor: math(Math.floor, true),
  ceil: math(Math.ceil, true),
  sqrt: math(Math.sqrt),
  ln: math(Math.log),
  log10: math(Math.log10),
  exp: math(Math.exp),
  round: {
    minArgs: 1,
    maxArgs: 2,
    signature: 'round(number, digits = 0) → number',
    build(args, fail) {
      if (!numeric(args[0]!.type)) fail(`needs a number, got ${args[0]!.type}`);
      const digits = args[1] ? Number(needLiteral(args[1], 'digits', fail)) : 0;
      const f = 10 ** digits;
      // Half away from zero, as SQL engines round.
      return rowwise(args[0]!.type === 'float64' ? 'float64' : args[0]!.type, [args[0]!], ([x]) => {
        const v = x as number;
        return (Math.sign(v) * Math.round(Math.abs(v) * f)) / f;
      });
    },
  },
  pow: {
    minArgs: 2,
    maxArgs: 2,
    signature: 'pow(base, exponent) → float64',
    build(args, fail) {
      if (!args.every((a) => numeric(a.type))) fail('needs numbers');
      return rowwise('float64', args, ([a, b]) => Math.pow(a as number, b as number));
    },
  },
  least: variadic('least', 'min'),
  greatest: variadic('greatest', 'max'),
  // strings
  lower: strToStr((s) => s.toLowerCase()),
  upper: strToStr((s) => s.toUpperCase()),
  trim: strToStr((s) => s.trim()),
  ltrim: strToStr((s) => s.trimStart()),
  rtrim: strToStr((s) => s.trimEnd()),
  length: {
    minArgs: 1,
    maxArgs: 1,
    signature: 'length(string) → int64 (characters)',
    build(args, fail) {
      if (args[0]!.type !== 'string' && args[0]!.type !== 'null') fail(`needs a string, got ${args[0]!.type}`);
      return rowwise('int64', args, ([s]) => [...(s as string)].length);
    },
  },
  substr: strToStr(
    (s, [start, len]) => {
      // 1-based like SQL; code points, not UTF-16 units.
      const cps = [...s];
      const from = Math.max(0, (start as number) - 1);
      return cps.slice(from, len === undefined || len === null ? undefined : from + (len as number)).join('');
    },
    ['int64', 'int64'],
    1,
  ),
  replace: strToStr((s, [a, b]) => s.split(a as string).join(b as string), ['string', 'string']),
  split_part: strToStr((s, [d, k]) => s.split(d as string)[(k as number) - 1] ?? '', ['string', 'int64']),
  concat: {
    minArgs: 1,
    maxArgs: Infinity,
    signature: 'concat(a, b, ...) → string (nulls are skipped)',
    build(args) {
      return rowwise(
        'string',
        args,
        (vals) =>
          vals
            .filter((v) => v !== null)
            .map(String)
            .join(''),
        { nullIn: true },
      );
    },
  },
  contains: strTest((s, a) => s.includes(a)),
  starts_with: strTest((s, a) => s.startsWith(a)),
  ends_with: strTest((s, a) => s.endsWith(a)),
  regexp_matches: {
    minArgs: 2,
    maxArgs: 2,
    signature: "regexp_matches(string, 'pattern') → bool",
    build(args, fail) {
      const re = regex(args[1], fail);
      return rowwise('bool', [args[0]!], ([s]) => re.test(s as string));
    },
  },
  regexp_extract: {
    minArgs: 2,
    maxArgs: 3,
    signature: "regexp_extract(string, 'pattern', group = 0) → string",
    build(args, fail) {
      const re = regex(args[1], fail);
      const g = args[2] ? Number(needLiteral(args[2], 'group', fail)) : 0;
      if (!Number.isInteger(g) || g < 0 || g > re.groups) fail(`group ${g} does not exist: the pattern has ${re.groups} group(s)`);
      return rowwise('string', [args[0]!], ([s]) => re.extract(s as string, g));
    },
  },
  regexp_replace: {
    minArgs: 3,
    maxArgs: 3,
    signature: "regexp_replace(string, 'pattern', 'replacement') → string (all matches)",
    build(args, fail) {
      const re = regex(args[1], fail);
      const rep = String(needLiteral(args[2], 'the replacement', fail));
      return rowwise('string', [args[0]!], ([s]) => re.replaceAll(s as string, rep));
    },
  },
  // time
  parse_timestamp: {
    minArgs: 1,
    maxArgs: 1,
    signature: 'parse_timestamp(iso string) → timestamp (no zone means UTC)',
    build(args, fail) {
      if (args[0]!.type !== 'string') fail(`needs a string, got ${args[0]!.type}`);
      return rowwise('timestamp', args, ([s], ctx, i) => {
        const ms = parseTimestamp(s as string);
        if (ms === null) rowError(ctx, i, `cannot parse timestamp ${JSON.stringify(s)}`);
        return ms;
      });
    },
  },
  to_timestamp: {
    minArgs: 1,
    maxArgs: 1,
    signature: 'to_timestamp(epoch milliseconds) → timestamp',
    build(args, fail) {
      if (!numeric(args[0]!.type)) fail(`needs a number, got ${args[0]!.type}`);
      return rowwise('timestamp', args, ([x]) => Math.trunc(x as number));
    },
  },
  epoch_ms: {
    minArgs: 1,
    maxArgs: 1,
    signature: 'epoch_ms(timestamp) → int64',
    build(args, fail) {
      if (args[0]!.type !== 'timestamp') fail(`needs a timestamp, got ${args[0]!.type}`);
      return rowwise('int64', args, ([x]) => x);
    },
  },
  now: {
    minArgs: 0,
    maxArgs: 0,
    signature: 'now() → timestamp: wall-clock time when the row is processed (ingestion time)',
    build: () => rowwise('timestamp', [], () => systemClock.now()),
  },
  interval: {
    minArgs: 1,
    maxArgs: 1,
    signature: "interval('5m') → int64 milliseconds",
    build(args, fail) {
      const ms = parseDurationMs(String(needLiteral(args[0], 'the interval', fail)));
      if (ms === null) fail("use a duration such as '500ms', '30s', '5m', '1h', '1d'");
      return rowwise('int64', [], () => ms);
    },
  },
  date_trunc: {
    minArgs: 2,
    maxArgs: 2,
    signature: `date_trunc('${TRUNC_UNITS.join("' | '")}', timestamp) → timestamp`,
    build(args, fail) {
      const unit = String(needLiteral(args[0], 'the unit', fail)).toLowerCase() as (typeof TRUNC_UNITS)[number];
      if (!TRUNC_UNITS.includes(unit)) fail(`unknown unit '${unit}'; units: ${TRUNC_UNITS.join(', ')}`);
      if (args[1]!.type !== 'timestamp') fail(`needs a timestamp, got ${args[1]!.type}`);
      return rowwise('timestamp', [args[1]!], ([x]) => truncate(x as number, unit));
    },
  },
  extract: {
    minArgs: 2,
    maxArgs: 2,
    signature: `extract('${PARTS.join("' | '")}', timestamp) → int64 (UTC)`,
    build(args, fail) {
      const part = String(needLiteral(args[0], 'the part', fail)).toLowerCase() as (typeof PARTS)[number];
      if (!PARTS.includes(part)) fail(`unknown part '${part}'; parts: ${PARTS.join(', ')}`);
      const t = args[1]!.type;
      if (t !== 'timestamp' && t !== 'date') fail(`needs a timestamp or date, got ${t}`);
      const scale = t === 'date' ? DAY_MS : 1;
      return rowwise('int64', [args[1]!], ([x]) => extract((x as number) * scale, part));
    },
  },
};

// Aliases users of DuckDB and Postgres reach for.
FUNCTIONS.date_part = FUNCTIONS.extract!;
FUNCTIONS.ifnull = FUNCTIONS.coalesce!;
FUNCTIONS.substring = FUNCTIONS.substr!;
