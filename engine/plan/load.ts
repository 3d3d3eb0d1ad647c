/**
 * @module plan/load
 * Reads plan YAML keeping positions, so every error can name `file:line:column`. zod issues become AbflowErrors with
 * hints: the closest known field for unknown keys, the expected and actual type for wrong values.
 */
import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, Scalar, type Document } from 'yaml';
import type { z } from 'zod';
import { AbflowError, suggestion } from '../errors.js';

export interface LoadedPlan {
  readonly file: string;
  readonly source: string;
  readonly value: unknown;
  /** Maps a plan path (and an offset inside a string value) to `file:line:column`. */
  locate(path: readonly (string | number)[], offset?: number, atKey?: boolean): string;
  /** Fills `location` in on errors that have a path. */
  place<E extends AbflowError>(e: E): E;
}

export function loadPlanFile(file: string): LoadedPlan {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new AbflowError('config', `cannot read plan ${file}: ${(e as Error).message}`);
  }
  return loadPlanText(text, file);
}

export function loadPlanText(source: string, file = '<plan>'): LoadedPlan {
  const lc = new LineCounter();
  // Duplicate keys are found by duplicateKey below: the library's own check compares every key of a map with every
  // other (a 25 000-column derive took 3 s of a 4 s validate).
  const doc = parseDocument(source, { lineCounter: lc, prettyErrors: false, uniqueKeys: false });
  const syntaxError = (message: string, at: number) => {
    const pos = lc.linePos(at);
    const e = new AbflowError('yaml_syntax', `invalid YAML: ${message}`, {
      hint: 'check indentation and quoting; expressions containing `: ` or starting with a quote need quotes around the whole value',
    });
    e.location = `${file}:${pos.line}:${pos.col}`;
    return e;
  };
  if (doc.errors.length) throw syntaxError(doc.errors[0]!.message.split('\n')[0]!, doc.errors[0]!.pos[0]);
  const duplicate = duplicateKey(doc.contents);
  if (duplicate) throw syntaxError(`duplicate key \`${duplicate.key}\` (map keys must be unique)`, duplicate.at);
  const locate = (path: readonly (string | number)[], offset?: number, atKey = false) => {
    const { line, col } = position(doc, lc, source, path, offset, atKey);
    return `${file}:${line}:${col}`;
  };
  return {
    file,
    source,
    value: doc.toJS({ maxAliasCount: 100 }),
    locate,
    place(e) {
      // An unknown field is best shown at its key; everything else at its value.
      if (e.path && !e.location) e.location = locate(e.path, e.offset, e.code === 'unknown_field');
      return e;
    },
  };
}

/** The first repeated scalar key of any map in the document, with its offset; linear in the document's size. */
function duplicateKey(node: unknown): { key: string; at: number } | null {
  if (isMap(node)) {
    const seen = new Set<unknown>();
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      if (isScalar(pair.key) && seen.has(key)) return { key: String(key), at: pair.key.range?.[0] ?? 0 };
      seen.add(key);
      const inner = duplicateKey(pair.value);
      if (inner) return inner;
    }
  } else if (isSeq(node)) {
    for (const item of node.items) {
      const inner = duplicateKey(item);
      if (inner) return inner;
    }
  }
  return null;
}

function position(
  doc: Document,
  lc: LineCounter,
  source: string,
  path: readonly (string | number)[],
  offset?: number,
  atKey = false,
): { line: number; col: number } {
  // Walk as deep as the path exists; a missing leaf (unknown or missing key) points at its parent or its key.
  let node: unknown = doc.contents;
  let keyNode: unknown;
  for (const [i, seg] of path.entries()) {
    const next = (node as { get?: (k: unknown, keep: boolean) => unknown })?.get?.(seg, true);
    if (next === undefined || (atKey && i === path.length - 1)) {
      if (isMap(node)) keyNode = node.items.find((p) => isScalar(p.key) && p.key.value === seg)?.key;
      break;
    }
    node = next;
    keyNode = undefined;
  }
  const target = (keyNode ?? node) as { range?: [number, number, number] } | null;
  const start = target?.range?.[0] ?? 0;
  if (offset === undefined || !isScalar(target)) return lc.linePos(start);
  const scalar = target as Scalar;
  if (scalar.type === Scalar.BLOCK_LITERAL || scalar.type === Scalar.BLOCK_FOLDED) {
    // Block scalars start on the line after the indicator; count lines inside the value.
    const value = String(scalar.value);
    const before = value.slice(0, offset);
    const firstLine = lc.linePos(start).line + 1;
    const lineStart = lc.lineStarts[firstLine - 1] ?? start;
    const indent = /^ */.exec(source.slice(lineStart))![0].length;
    const lines = before.split('\n');
    return { line: firstLine + lines.length - 1, col: indent + lines[lines.length - 1]!.length + 1 };
  }
  const quote = scalar.type === Scalar.QUOTE_DOUBLE || scalar.type === Scalar.QUOTE_SINGLE ? 1 : 0;
  return lc.linePos(start + quote + offset);
}

/** Converts zod issues to AbflowErrors with plan paths (prefixed) and hints. */
export function zodErrors(error: z.ZodError, schema: z.ZodType, prefix: readonly (string | number)[] = [], value?: unknown): AbflowError[] {
  return error.issues.map((issue) => {
    const path = [...prefix, ...(issue.path as (string | number)[])];
    const here = issue.path as (string | number)[];
    switch (issue.code) {
      case 'unrecognized_keys': {
        const keys = (issue as { keys: string[] }).keys;
        const known = knownKeys(schema, here);
        const hint = keys.map((k) => suggestion(k, known)).find(Boolean);
        return new AbflowError('unknown_field', `unknown field${keys.length > 1 ? 's' : ''} ${keys.map((k) => '`' + k + '`').join(', ')}`, {
          path: [...path, keys[0]!],
          hint: hint ?? (known.length ? `known fields: ${known.join(', ')}` : undefined),
        });
      }
      case 'invalid_type': {
        const actual = valueAt(value, here);
        const expected = (issue as { expected: string }).expected;
        const got = actual === undefined ? 'nothing' : actual === null ? 'null' : Array.isArray(actual) ? 'a list' : typeof actual;
        return new AbflowError(
          'plan_schema',
          actual === undefined
            ? `missing required field (expected ${expected})`
            : `expected ${expected}, got ${got}${isPrimitive(actual) ? ` (${JSON.stringify(actual)})` : ''}`,
          { path },
        );
      }
      case 'invalid_value': {
        const values = (issue as { values: unknown[] }).values;
        const actual = valueAt(value, here);
        const hint = typeof actual === 'string' ? suggestion(actual, values.map(String)) : undefined;
        return new AbflowError('plan_schema', `${JSON.stringify(actual)} is not one of ${values.map((v) => JSON.stringify(v)).join(', ')}`, {
          path,
          ...(hint ? { hint } : {}),
        });
      }
      case 'invalid_key': {
        // A record key (an output or column name) broke its rule: zod says only "Invalid key"; the rule is inside.
        const inner = (issue as { issues?: readonly { message: string }[] }).issues ?? [];
        return new AbflowError('plan_schema', `invalid name ${JSON.stringify(here.at(-1))}: ${inner.map((i) => i.message).join('; ') || issue.message}`, {
          path,
        });
      }
      default:
        return new AbflowError('plan_schema', issue.message, { path });
    }
  });
}

function isPrimitive(v: unknown): boolean {
  return v === null || ['string', 'number', 'boolean'].includes(typeof v);
}

function valueAt(value: unknown, path: readonly (string | number)[]): unknown {
  let v = value;
  for (const seg of path) v = (v as Record<string | number, unknown> | undefined)?.[seg];
  return v;
}

/** Known keys of the object schema at `path` (for "did you mean" hints on unknown fields). */
export function knownKeys(schema: z.ZodType, path: readonly (string | number)[]): string[] {
  let s: unknown = schema;
  const unwrap = (x: unknown): unknown => {
    for (;;) {
      const def = (x as { def?: { type: string; innerType?: unknown; in?: unknown } }).def;
      if (!def) return x;
      if (def.type === 'optional' || def.type === 'default' || def.type === 'nullable' || def.type === 'prefault') x = def.innerType;
      else if (def.type === 'pipe') x = def.in;
      else return x;
    }
  };
  for (const seg of path) {
    s = unwrap(s);
    const def = (s as { def: { type: string; shape?: Record<string, unknown>; element?: unknown; valueType?: unknown } }).def;
    if (def.type === 'object' && typeof seg === 'string') s = def.shape?.[seg];
    else if (def.type === 'array') s = def.element;
    else if (def.type === 'record') s = def.valueType;
    else return [];
    if (!s) return [];
  }
  const def = (unwrap(s) as { def?: { type: string; shape?: Record<string, unknown> } }).def;
  return def?.type === 'object' ? Object.keys(def.shape ?? {}) : [];
}
