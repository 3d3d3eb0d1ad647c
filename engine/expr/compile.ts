/**
 * @module expr/compile
 * Type-checks a parsed expression against an input schema and compiles it to a tree of columnar kernels.
 * Semantics follow SQL: any null operand gives null (except `and`/`or`, which use three-valued logic, and
 * `coalesce`/`is_null`); a filter keeps a row only when its predicate is true. Integer arithmetic stays integral
 * (`/` gives float64), and a row whose value cannot be computed (a failed cast, an unparseable timestamp) is reported
 * as a row error, which operators send to their dead-letter output.
 */
import type { Schema } from 'apache-arrow';
import { columnData, validityBytes } from '../arrow/columns.js';
import { AbflowError, suggestion } from '../errors.js';
import { type ColumnType, fieldsOf, isNumeric } from '../types.js';
import { type CaseExpression, type Expression, parseExpression } from './parse.js';
import { FUNCTIONS, type FnArg } from './functions.js';
import { type EvalContext, type ExprType, type Node, unify } from './node.js';

export { evalContext, type EvalContext, type ExprType, type Node } from './node.js';
import { andValid, constVec, isNullAt, type Vec, vecFromData } from './vec.js';
import { parseTimestamp } from '../time/timestamps.js';

export interface CompiledExpression {
  readonly text: string;
  readonly type: ExprType;
  readonly root: Node;
  readonly columns: readonly string[];
  eval(ctx: EvalContext): Vec;
}

/** The columns an expression may name: their types in order, and a name → index lookup. An operator compiling many
 * expressions over a growing set of columns (`derive`) keeps one and extends it, instead of a schema per step:
 * per-step schemas made compiling n columns take n² time and memory (25 000 columns: 35 s and 4 GB). */
export class ExpressionScope {
  readonly fields: { name: string; type: ColumnType }[];
  private readonly index = new Map<string, number>();

  constructor(schema: Schema) {
    this.fields = expressionFields(schema);
    this.fields.forEach((f, i) => this.index.set(f.name, i));
  }

  indexOf(name: string): number {
    return this.index.get(name) ?? -1;
  }

  /** Adds column `name` (or retypes it where it exists); returns its index. */
  set(name: string, type: ColumnType): number {
    const at = this.indexOf(name);
    const field = { name, type: type === 'json' ? 'string' : type };
    if (at >= 0) {
      this.fields[at] = field;
      return at;
    }
    this.index.set(name, this.fields.length);
    return this.fields.push(field) - 1;
  }
}

export function compileExpression(text: string, schema: Schema | ExpressionScope): CompiledExpression {
  const ast = parseExpression(text);
  const scope = schema instanceof ExpressionScope ? schema : new ExpressionScope(schema);
  const used = new Set<string>();
  const root = new Compiler(text, scope, used).compile(ast);
  return { text, type: root.type, root, columns: [...used], eval: (ctx) => root.eval(ctx) };
}

/** Compiles a predicate and checks that it is boolean. */
export function compilePredicate(text: string, schema: Schema): CompiledExpression {
  const e = compileExpression(text, schema);
  if (e.type !== 'bool' && e.type !== 'null')
    throw new AbflowError('expression_type', `a predicate must be boolean, but \`${text}\` is ${e.type}`, {
      hint: "compare it with something, e.g. `x > 0` or `s = 'value'`",
    });
  return e;
}

class Compiler {
  private readonly fields: { name: string; type: ColumnType }[];

  constructor(
    private readonly text: string,
    private readonly scope: ExpressionScope,
    private readonly used: Set<string>,
  ) {
    this.fields = scope.fields;
  }

  private fail(code: 'expression_type' | 'expression_column' | 'expression_syntax', message: string, needle?: string, hint?: string): never {
    const offset = needle ? findWord(this.text, needle) : 0;
    throw new AbflowError(code, message, { offset, ...(hint === undefined ? {} : { hint }) });
  }

  column(name: string): Node {
    const idx = this.scope.indexOf(name);
    if (idx < 0) {
      const available = this.fields.map((f) => `${f.name}: ${f.type}`).join(', ');
      const close = suggestion(
        name,
        this.fields.map((f) => f.name),
      );
      this.fail('expression_column', `unknown column \`${name}\``, name, `${close ? close + ' ' : ''}available columns: ${available}`);
    }
    this.used.add(name);
    const type = this.fields[idx]!.type;
    return {
      type,
      column: idx,
      eval(ctx) {
        let v = ctx.columns.get(idx);
        if (!v) {
          v = vecFromData(columnData(ctx.batch, idx), type);
          ctx.columns.set(idx, v);
        }
        return v;
      },
    };
  }

  compile(e: Expression): Node {
    switch (e.type) {
      case 'Literal':
        return literal((e as unknown as { value: unknown }).value);
      case 'Identifier': {
        const name = (e as unknown as { name: string }).name;
        if (name === 'true' || name === 'TRUE') return literal(true);
        if (name === 'false' || name === 'FALSE') return literal(false);
        if (name === 'null' || name === 'NULL') return literal(null);
        return this.column(name);
      }
      case 'UnaryExpression':
        return this.unary(e as unknown as { operator: string; argument: Expression });
      case 'BinaryExpression':
        return this.binary(e as unknown as { operator: string; left: Expression; right: Expression });
      case 'ConditionalExpression': {
        const c = e as unknown as { test: Expression; consequent: Expression; alternate: Expression };
        return this.caseOf([{ when: c.test, then: c.consequent }], c.alternate);
      }
      case 'CaseExpression': {
        const c = e as unknown as CaseExpression;
        const branches = c.operand
          ? c.branches.map((b) => ({
              when: { type: 'BinaryExpression', operator: '=', left: c.operand, right: b.when } as unknown as Expression,
              then: b.then,
            }))
          : c.branches;
        return this.caseOf(branches, c.otherwise);
      }
      case 'CallExpression':
        return this.call(e as unknown as { callee: Expression; arguments: Expression[] });
      case 'MemberExpression':
        return this.fail('expression_syntax', 'nested field access is not supported', undefined, "to use a column whose name contains a dot, write col('a.b')");
      default:
        return this.fail('expression_type', `unsupported syntax (${e.type})`);
    }
  }

  private unary(e: { operator: string; argument: Expression }): Node {
    const arg = this.compile(e.argument);
    const op = e.operator.toLowerCase();
    if (op === '-' || op === '+') {
      if (!isNumeric(arg.type as ColumnType) && arg.type !== 'null') this.fail('expression_type', `unary ${op} needs a number, got ${arg.type}`);
      if (op === '+') return arg;
      return numOp(arg.type === 'null' ? 'int64' : arg.type, [arg], (ctx, [x]) => {
        const v = new Float64Array(ctx.n);
        const a = (x as NumVecT).v;
        for (let i = 0; i < ctx.n; i++) v[i] = -a[i]!;
        return { kind: 'num', v, valid: (x as NumVecT).valid };
      });
    }
    if (op === '!' || op === 'not') {
      this.expectBool(arg, 'not');
      return {
        type: 'bool',
        eval(ctx) {
          const x = asBool(arg.eval(ctx), ctx.n);
          const v = new Uint8Array(ctx.n);
          for (let i = 0; i < ctx.n; i++) v[i] = x.v[i] ? 0 : 1;
          return { kind: 'bool', v, valid: x.valid };
        },
      };
    }
    return this.fail('expression_type', `unsupported operator ${e.operator}`);
  }

  private expectBool(n: Node, what: string): void {
    if (n.type !== 'bool' && n.type !== 'null') this.fail('expression_type', `${what} needs a boolean, got ${n.type}`);
  }

  private binary(e: { operator: string; left: Expression; right: Expression }): Node {
    const op = e.operator.toLowerCase();
    if (op === 'in') return this.inList(e.left, e.right);
    let left = this.compile(e.left);
    let right = this.compile(e.right);
    if (op === 'and' || op === '&&' || op === 'or' || op === '||') {
      this.expectBool(left, op);
      this.expectBool(right, op);
      return logical(op === 'and' || op === '&&' ? 'and' : 'or', left, right);
    }
    // A string literal compared with a timestamp/date is a time literal, as in SQL (`ts >= '2024-01-01'`).
    [left, right] = [coerceTimeLiteral(left, right.type), coerceTimeLiteral(right, left.type)];
    if (['=', '==', '!=', '<>', '<', '<=', '>', '>='].includes(op)) return this.compare(op, left, right);
    return this.arithmetic(op, left, right);
  }

  private compare(op: string, left: Node, right: Node): Node {
    const lt = left.type;
    const rt = right.type;
    const comparable = lt === 'null' || rt === 'null' || lt === rt || (isNumeric(lt as ColumnType) && isNumeric(rt as ColumnType));
    if (!comparable) this.fail('expression_type', `cannot compare ${lt} with ${rt} using ${op}`, undefined, `cast one side, e.g. string(x) or float(x)`);
    const bytes = equalsLiteralBytes(op, left, right) ?? equalsLiteralBytes(op, right, left);
    if (bytes) return bytes;
    const cmp = COMPARE[op]!;
    return {
      type: 'bool',
      eval(ctx) {
        const a = left.eval(ctx);
        const b = right.eval(ctx);
        const n = ctx.n;
        const v = new Uint8Array(n);
        const valid = andValid(n, a, b);
        if (a.kind === 'str' && b.kind === 'str') {
          for (let i = 0; i < n; i++) {
            const x = a.v[i];
            const y = b.v[i];
            if (x !== null && y !== null) v[i] = cmp(x! < y! ? -1 : x! > y! ? 1 : 0) ? 1 : 0;
          }
        } else {
          const x = (a as NumVecT).v;
          const y = (b as NumVecT).v;
          for (let i = 0; i < n; i++) v[i] = cmp(x[i]! < y[i]! ? -1 : x[i]! > y[i]! ? 1 : 0) ? 1 : 0;
        }
        return { kind: 'bool', v, valid };
      },
    };
  }

  private arithmetic(op: string, left: Node, right: Node): Node {
    const lt = left.type;
    const rt = right.type;
    if (op === '+' && (lt === 'string' || rt === 'string')) {
      if (lt !== rt && lt !== 'null' && rt !== 'null')
        this.fail('expression_type', `operator + cannot combine ${lt} and ${rt}`, undefined, 'cast the number with string(x), or use concat(a, b)');
      return FUNCTIONS.concat!.build([arg(left), arg(right)], this.failer());
    }
    const time = lt === 'timestamp' || rt === 'timestamp';
    let type: ExprType | undefined;
    if (time) {
      // timestamp ± int milliseconds → timestamp; timestamp − timestamp → int64 milliseconds.
      if (op === '-' && lt === 'timestamp' && rt === 'timestamp') type = 'int64';
      else if ((op === '+' || op === '-') && lt === 'timestamp' && isIntegral(rt)) type = 'timestamp';
      else if (op === '+' && rt === 'timestamp' && isIntegral(lt)) type = 'timestamp';
    } else if ((isNumeric(lt as ColumnType) || lt === 'null') && (isNumeric(rt as ColumnType) || rt === 'null')) {
      type = op === '/' ? 'float64' : unify([lt, rt]) === 'null' ? 'int64' : unify([lt, rt]);
    }
    if (!type || !ARITH[op])
      this.fail(
        'expression_type',
        `operator ${op} cannot combine ${lt} and ${rt}`,
        undefined,
        lt === 'string' || rt === 'string' ? 'convert strings with int(x) or float(x) first' : undefined,
      );
    const f = ARITH[op]!;
    const integral = type === 'int64' || type === 'int32' || type === 'timestamp';
    return numOp(type, [left, right], (ctx, [a, b]) => {
      const n = ctx.n;
      const x = (a as NumVecT).v;
      const y = (b as NumVecT).v;
      const v = new Float64Array(n);
      let valid = andValid(n, a!, b!);
      for (let i = 0; i < n; i++) v[i] = f(x[i]!, y[i]!);
      if (op === '/' || op === '%' || integral) {
        // Division by zero is null (as in DuckDB), not Infinity or NaN; integer `%` keeps sign like SQL.
        for (let i = 0; i < n; i++) {
          if ((op === '/' || op === '%') && y[i] === 0) {
            valid ??= new Uint8Array(n).fill(1);
            valid[i] = 0;
          } else if (integral) v[i] = Math.trunc(v[i]!);
        }
      }
      return { kind: 'num', v, valid };
    });
  }

  private inList(leftE: Expression, rightE: Expression): Node {
    const left = this.compile(leftE);
    if (rightE.type !== 'ArrayExpression') this.fail('expression_type', '`in` needs a list of literals on its right', 'in', "write x in ['a', 'b']");
    const items = (rightE as unknown as { elements: Expression[] }).elements.map((el) => {
      if (el.type !== 'Literal') this.fail('expression_type', '`in` lists may hold only literals', 'in');
      return (el as unknown as { value: unknown }).value;
    });
    for (const it of items) {
      const t = literal(it).type;
      if (t !== 'null' && unify([t, left.type]) === undefined)
        this.fail('expression_type', `\`in\` list item ${JSON.stringify(it)} (${t}) cannot match ${left.type}`, 'in');
    }
    const set = new Set(items.filter((x) => x !== null));
    return {
      type: 'bool',
      eval(ctx) {
        const x = left.eval(ctx);
        const v = new Uint8Array(ctx.n);
        for (let i = 0; i < ctx.n; i++) v[i] = set.has(x.v[i] as never) ? 1 : 0;
        return { kind: 'bool', v, valid: andValid(ctx.n, x) };
      },
    };
  }

  private caseOf(branches: { when: Expression; then: Expression }[], otherwiseE: Expression | null): Node {
    const whens = branches.map((b) => this.compile(b.when));
    whens.forEach((w) => this.expectBool(w, 'CASE WHEN'));
    const thens = branches.map((b) => this.compile(b.then));
    const otherwise = otherwiseE ? this.compile(otherwiseE) : literal(null);
    const type = unify([...thens.map((t) => t.type), otherwise.type]);
    if (type === undefined) this.fail('expression_type', `CASE branches have incompatible types: ${[...thens, otherwise].map((t) => t.type).join(', ')}`);
    return caseNode(type, whens, thens, otherwise);
  }

  private call(e: { callee: Expression; arguments: Expression[] }): Node {
    if (e.callee.type !== 'Identifier') return this.fail('expression_type', 'only named functions can be called');
    const name = (e.callee as unknown as { name: string }).name;
    const fname = name.toLowerCase();
    if (fname === 'col') {
      const a = e.arguments[0];
      if (e.arguments.length !== 1 || a?.type !== 'Literal' || typeof (a as unknown as { value: unknown }).value !== 'string')
        this.fail('expression_type', "col() takes one string literal, e.g. col('order id')", name);
      return this.column((a as unknown as { value: string }).value);
    }
    if (fname === 'if') {
      if (e.arguments.length !== 3) this.fail('expression_type', 'if(condition, then, else) takes 3 arguments', name);
      return this.caseOf([{ when: e.arguments[0]!, then: e.arguments[1]! }], e.arguments[2]!);
    }
    if (fname === 'case') {
      const a = e.arguments;
      if (a.length < 2) this.fail('expression_type', 'case(cond1, value1, ..., [else]) needs at least 2 arguments', name);
      const branches = [];
      for (let i = 0; i + 1 < a.length; i += 2) branches.push({ when: a[i]!, then: a[i + 1]! });
      return this.caseOf(branches, a.length % 2 ? a[a.length - 1]! : null);
    }
    const fn = FUNCTIONS[fname];
    if (!fn)
      return this.fail(
        'expression_type',
        `unknown function ${name}()`,
        name,
        suggestion(fname, [...Object.keys(FUNCTIONS), 'col', 'if', 'case']) ?? `functions: ${Object.keys(FUNCTIONS).join(', ')}`,
      );
    const args = e.arguments.map((a) => arg(this.compile(a)));
    if (args.length < fn.minArgs || args.length > fn.maxArgs)
      this.fail(
        'expression_type',
        `${fname}() takes ${fn.minArgs === fn.maxArgs ? fn.minArgs : `${fn.minArgs} to ${fn.maxArgs === Infinity ? 'any number of' : fn.maxArgs}`} arguments, got ${args.length}`,
        name,
        fn.signature,
      );
    return fn.build(args, this.failer(name, fn.signature));
  }

  private failer(needle?: string, signature?: string): (message: string) => never {
    return (message) => this.fail('expression_type', message, needle, signature);
  }
}

type NumVecT = Extract<Vec, { kind: 'num' }>;

function isIntegral(t: ExprType): boolean {
  return t === 'int32' || t === 'int64' || t === 'null';
}

function arg(node: Node): FnArg {
  return node;
}

const COMPARE: Record<string, (c: number) => boolean> = {
  '=': (c) => c === 0,
  '==': (c) => c === 0,
  '!=': (c) => c !== 0,
  '<>': (c) => c !== 0,
  '<': (c) => c < 0,
  '<=': (c) => c <= 0,
  '>': (c) => c > 0,
  '>=': (c) => c >= 0,
};

const ARITH: Record<string, (a: number, b: number) => number> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => a / b,
  '%': (a, b) => a % b,
};

export function literal(value: unknown): Node {
  const type: ExprType =
    value === null ? 'null' : typeof value === 'string' ? 'string' : typeof value === 'boolean' ? 'bool' : Number.isInteger(value) ? 'int64' : 'float64';
  return { type, literal: { value }, eval: (ctx) => constVec(value, ctx.n) };
}

function coerceTimeLiteral(node: Node, other: ExprType): Node {
  if ((other !== 'timestamp' && other !== 'date') || node.type !== 'string' || !node.literal) return node;
  const ms = parseTimestamp(node.literal.value as string);
  if (ms === null)
    throw new AbflowError('expression_type', `'${String(node.literal.value)}' is not a valid ${other} literal`, {
      hint: "use ISO 8601, e.g. '2024-01-31' or '2024-01-31T12:00:00Z'",
    });
  const v = other === 'date' ? Math.floor(ms / 86_400_000) : ms;
  return { type: other, literal: { value: v }, eval: (ctx) => constVec(v, ctx.n) };
}

function numOp(type: ExprType, args: Node[], f: (ctx: EvalContext, vs: Vec[]) => Vec): Node {
  return {
    type,
    eval: (ctx) =>
      f(
        ctx,
        args.map((a) => a.eval(ctx)),
      ),
  };
}

function asBool(x: Vec, n: number): Extract<Vec, { kind: 'bool' }> {
  if (x.kind === 'bool') return x;
  return { kind: 'bool', v: new Uint8Array(n), valid: new Uint8Array(n) }; // the null literal
}

function logical(op: 'and' | 'or', left: Node, right: Node): Node {
  return {
    type: 'bool',
    eval(ctx) {
      const a = asBool(left.eval(ctx), ctx.n);
      const b = asBool(right.eval(ctx), ctx.n);
      const n = ctx.n;
      const v = new Uint8Array(n);
      let valid: Uint8Array | null = null;
      const dominant = op === 'and' ? 0 : 1;
      for (let i = 0; i < n; i++) {
        const an = a.valid !== null && a.valid[i] === 0;
        const bn = b.valid !== null && b.valid[i] === 0;
        // Three-valued logic: a definite false (and) / true (or) on either side decides, else null wins.
        if ((!an && a.v[i] === dominant) || (!bn && b.v[i] === dominant)) v[i] = dominant;
        else if (an || bn) {
          valid ??= new Uint8Array(n).fill(1);
          valid[i] = 0;
        } else v[i] = 1 - dominant;
      }
      return { kind: 'bool', v, valid };
    },
  };
}

function caseNode(type: ExprType, whens: Node[], thens: Node[], otherwise: Node): Node {
  return {
    type,
    eval(ctx) {
      const n = ctx.n;
      const conds = whens.map((w) => asBool(w.eval(ctx), n));
      const vals = thens.map((t) => t.eval(ctx));
      const other = otherwise.eval(ctx);
      const pick = new Int32Array(n).fill(-1);
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < conds.length; k++) {
          const c = conds[k]!;
          if (c.v[i] === 1 && (c.valid === null || c.valid[i] === 1)) {
            pick[i] = k;
            break;
          }
        }
      }
      const src = (i: number): Vec => (pick[i]! >= 0 ? vals[pick[i]!]! : other);
      if (type === 'string') {
        const v = new Array<string | null>(n);
        for (let i = 0; i < n; i++) {
          const s = src(i);
          v[i] = s.kind === 'str' ? s.v[i]! : null;
        }
        return { kind: 'str', v };
      }
      const valid = new Uint8Array(n);
      if (type === 'bool') {
        const v = new Uint8Array(n);
        for (let i = 0; i < n; i++) {
          const s = src(i);
          if (s.kind === 'bool' && !isNullAt(s, i)) {
            v[i] = s.v[i]!;
            valid[i] = 1;
          }
        }
        return { kind: 'bool', v, valid };
      }
      const v = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const s = src(i);
        if (s.kind === 'num' && !isNullAt(s, i)) {
          v[i] = s.v[i]!;
          valid[i] = 1;
        }
      }
      return { kind: 'num', v, valid };
    },
  };
}

function findWord(text: string, word: string): number {
  const re = new RegExp(`(^|[^A-Za-z0-9_$'"])${word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z0-9_$])`);
  const m = re.exec(text);
  return m ? m.index + m[1]!.length : 0;
}

/** Splits rows into those to keep (mask true, or all when no mask) and those with row errors, for dead-lettering. */
export function partitionRows(
  n: number,
  errors: Map<number, string> | null,
  keep?: (i: number) => boolean,
): { rows: Int32Array; count: number; bad: number[]; reasons: string[] } {
  const rows = new Int32Array(n);
  let count = 0;
  const bad: number[] = [];
  const reasons: string[] = [];
  for (let i = 0; i < n; i++) {
    const err = errors?.get(i);
    if (err !== undefined) {
      bad.push(i);
      reasons.push(err);
    } else if (!keep || keep(i)) rows[count++] = i;
  }
  return { rows: rows.subarray(0, count), count, bad, reasons };
}

/** `column = 'literal'` (or `!=`) on a string column, compared on the UTF-8 bytes of the Arrow column without
 * decoding any string: the common filter/route/CASE shape, and about 10x faster than materializing strings. */
function equalsLiteralBytes(op: string, col: Node, lit: Node): Node | null {
  const negate = op === '!=' || op === '<>';
  if (!(negate || op === '=' || op === '==') || col.column === undefined || col.type !== 'string' || lit.type !== 'string' || !lit.literal) return null;
  const needle = Buffer.from(String(lit.literal.value), 'utf8');
  const len = needle.length;
  const index = col.column;
  return {
    type: 'bool',
    eval(ctx) {
      const data = columnData(ctx.batch, index);
      const offsets = data.valueOffsets as Int32Array;
      const bytes = data.values as Uint8Array;
      const n = ctx.n;
      const v = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const s = offsets[i]!;
        let eq = offsets[i + 1]! - s === len;
        for (let k = 0; eq && k < len; k++) eq = bytes[s + k] === needle[k];
        v[i] = eq !== negate ? 1 : 0;
      }
      return { kind: 'bool', v, valid: validityBytes(data) };
    },
  };
}

/** Compiles an already-parsed expression (e.g. an aggregate's argument) against a schema. */
export function compileAst(ast: Expression, text: string, schema: Schema): Node {
  return new Compiler(text, new ExpressionScope(schema), new Set()).compile(ast);
}

/** Columns as expressions see them: JSON text is a string. */
function expressionFields(schema: Schema): { name: string; type: ColumnType }[] {
  return fieldsOf(schema).map((f) => (f.type === 'json' ? { name: f.name, type: 'string' } : f));
}
