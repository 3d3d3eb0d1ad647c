/**
 * @module template
 * `{{column}}` templates over a record's fields, checked against the input schema when the plan compiles: prompts,
 * URLs, message texts, idempotency keys and JSON bodies. A JSON template is any YAML value whose strings are
 * templates; a string that is exactly one `{{column}}` keeps the value's type (a number stays a number).
 */
import type { Schema } from 'apache-arrow';
import { AbflowError } from './errors.js';
import { describeSchema } from './types.js';

const FIELD = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;
const WHOLE = /^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$/;

export interface Template {
  readonly text: string;
  readonly fields: readonly string[];
}

export function compileTemplate(text: string, input: Schema, path: readonly (string | number)[]): Template {
  const fields = [...text.matchAll(FIELD)].map((m) => m[1]!);
  for (const f of fields)
    if (!input.fields.some((x) => x.name === f))
      throw new AbflowError('config', `the template references unknown column \`${f}\``, { path, hint: `available columns: ${describeSchema(input)}` });
  return { text, fields: [...new Set(fields)] };
}

const asText = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** The template with each `{{field}}` replaced by the row's value as text (empty for null). */
export function render(t: Template, row: Readonly<Record<string, unknown>>): string {
  return t.text.replace(FIELD, (_, f: string) => asText(row[f]));
}

export type JsonTemplate = (row: Readonly<Record<string, unknown>>) => unknown;

/** Compiles a JSON value whose strings are templates; the fields it uses are added to `fields`. */
export function compileJsonTemplate(value: unknown, input: Schema, path: readonly (string | number)[], fields: Set<string>): JsonTemplate {
  if (typeof value === 'string') {
    const whole = WHOLE.exec(value);
    const t = compileTemplate(value, input, path);
    for (const f of t.fields) fields.add(f);
    if (whole) return (row) => row[whole[1]!] ?? null;
    return (row) => render(t, row);
  }
  if (Array.isArray(value)) {
    const items = value.map((v, i) => compileJsonTemplate(v, input, [...path, i], fields));
    return (row) => items.map((f) => f(row));
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).map(([k, v]) => [k, compileJsonTemplate(v, input, [...path, k], fields)] as const);
    return (row) => Object.fromEntries(entries.map(([k, f]) => [k, f(row)]));
  }
  return () => value;
}
