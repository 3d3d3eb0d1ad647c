/**
 * @module expr/parse
 * Parses abflow expressions with jsep (a small, maintained expression parser) configured for SQL-flavoured syntax:
 * `and`/`or`/`not` beside `&&`/`||`/`!`, `=`/`<>` beside `==`/`!=`, `x in ['a', 'b']`, and
 * `CASE WHEN c THEN v ... ELSE e END` through a jsep plugin. User text is only ever parsed, never evaluated as JS.
 */
import jsep, { type Expression } from 'jsep';
import { AbflowError } from '../errors.js';

const WORD_OPS: [string, number][] = [
  ['or', 1],
  ['and', 2],
  ['in', 7],
];
for (const [op, prec] of WORD_OPS) {
  jsep.addBinaryOp(op, prec);
  jsep.addBinaryOp(op.toUpperCase(), prec);
}
jsep.addBinaryOp('=', 6);
jsep.addBinaryOp('<>', 6);
jsep.addUnaryOp('not');
jsep.addUnaryOp('NOT');
// Bitwise operators would silently coerce to int32; abflow has no use for them.
for (const op of ['|', '^', '&', '<<', '>>', '>>>']) jsep.removeBinaryOp(op);
jsep.removeUnaryOp('~');

export interface CaseExpression {
  type: 'CaseExpression';
  /** `CASE x WHEN v THEN ...` compares x with each v; searched CASE has none. */
  operand: Expression | null;
  branches: { when: Expression; then: Expression }[];
  otherwise: Expression | null;
}

interface JsepHookEnv {
  node?: Expression;
}
interface JsepParser {
  index: number;
  expr: string;
  gobbleSpaces(): void;
  gobbleExpression(): Expression;
  throwError(msg: string): never;
}

function keywordAt(p: JsepParser, word: string): boolean {
  const s = p.expr.slice(p.index, p.index + word.length);
  const next = p.expr[p.index + word.length];
  return s.toUpperCase() === word && (next === undefined || !/[A-Za-z0-9_$]/.test(next));
}

jsep.hooks.add('gobble-token', function caseWhen(this: unknown, env: JsepHookEnv) {
  const p = this as JsepParser;
  if (!keywordAt(p, 'CASE')) return;
  p.index += 4;
  const branches: CaseExpression['branches'] = [];
  let otherwise: Expression | null = null;
  p.gobbleSpaces();
  const operand = keywordAt(p, 'WHEN') ? null : p.gobbleExpression();
  for (;;) {
    p.gobbleSpaces();
    if (keywordAt(p, 'WHEN')) {
      p.index += 4;
      const when = p.gobbleExpression();
      p.gobbleSpaces();
      if (!keywordAt(p, 'THEN')) p.throwError('Expected THEN');
      p.index += 4;
      branches.push({ when, then: p.gobbleExpression() });
    } else if (keywordAt(p, 'ELSE')) {
      p.index += 4;
      otherwise = p.gobbleExpression();
    } else if (keywordAt(p, 'END')) {
      p.index += 3;
      break;
    } else p.throwError(branches.length ? 'Expected WHEN, ELSE or END' : 'Expected WHEN');
  }
  if (!branches.length) p.throwError('CASE needs at least one WHEN');
  env.node = { type: 'CaseExpression', operand, branches, otherwise } as unknown as Expression;
});

export type { Expression };

/** Parses `text`; syntax errors carry the character offset so the plan loader can point at the exact column. */
export function parseExpression(text: string): Expression {
  try {
    return jsep(text);
  } catch (e) {
    const err = e as Error & { index?: number; description?: string };
    throw new AbflowError('expression_syntax', `invalid expression: ${err.description ?? err.message}`, {
      offset: err.index ?? 0,
      hint: "expressions use columns, literals (1, 2.5, 'text', true, null), + - * / %, = != < <= > >=, and/or/not, x in [..], CASE WHEN .. THEN .. ELSE .. END and functions such as lower(s), coalesce(a, b), date_trunc('hour', ts)",
    });
  }
}
