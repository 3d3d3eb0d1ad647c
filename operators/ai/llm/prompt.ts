/**
 * Structured output for `llm_enrich` (its prompt templates are engine/template.ts): the output is a JSON schema of a
 * flat object whose properties become typed columns (nested values become JSON columns). Several records per
 * request use a wrapper schema `{results: [...]}` of exactly that many items.
 */
import { createHash } from 'node:crypto';
import { AbflowError, type ColumnType, z } from '../../../engine/api.js';

export interface OutputColumn {
  readonly name: string;
  readonly type: ColumnType;
}

type JsonSchema = { type?: string | string[]; properties?: Record<string, JsonSchema>; required?: string[]; [k: string]: unknown };

const COLUMN_OF: Record<string, ColumnType> = { string: 'string', integer: 'int64', number: 'float64', boolean: 'bool' };

/** The columns a JSON output schema gives: one per property. */
export function outputColumns(schema: JsonSchema, path: (string | number)[]): OutputColumn[] {
  if (schema.type !== 'object' || !schema.properties || !Object.keys(schema.properties).length)
    throw new AbflowError('config', 'the output schema must be an object with `properties` (one column each)', { path });
  return Object.entries(schema.properties).map(([name, p]) => {
    const t = Array.isArray(p.type) ? p.type.find((x) => x !== 'null') : p.type;
    return { name, type: (t !== undefined ? COLUMN_OF[t] : undefined) ?? 'json' };
  });
}

/** Validates model output against the plan's schema (zod's JSON-schema reader), with a readable first problem. */
export function outputValidator(
  schema: JsonSchema,
  path: (string | number)[],
): (v: unknown) => { ok: true; value: Record<string, unknown> } | { ok: false; error: string } {
  let zs: z.ZodType;
  try {
    zs = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
  } catch (e) {
    throw new AbflowError('config', `invalid output schema: ${(e as Error).message}`, { path });
  }
  return (v) => {
    const r = zs.safeParse(v);
    if (r.success) return { ok: true, value: r.data as Record<string, unknown> };
    const issue = r.error.issues[0]!;
    return { ok: false, error: `${issue.path.join('.') || '(root)'}: ${issue.message}` };
  };
}

/** The schema sent for `n` records per request. */
export function batchSchema(schema: JsonSchema, n: number): JsonSchema {
  return n === 1
    ? schema
    : {
        type: 'object',
        properties: { results: { type: 'array', items: schema, minItems: n, maxItems: n } },
        required: ['results'],
        additionalProperties: false,
      };
}

/** The user message for several records: numbered, with the answer shape spelled out (JSON mode needs the word). */
export function batchMessage(rendered: readonly string[]): string {
  if (rendered.length === 1) return rendered[0]!;
  return `Answer for each of the ${rendered.length} records below, in order, as JSON {"results": [...]} with one object per record.\n\n${rendered.map((r, i) => `### Record ${i + 1}\n${r}`).join('\n\n')}`;
}

export function digest(...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\u0000');
  return h.digest('hex');
}
