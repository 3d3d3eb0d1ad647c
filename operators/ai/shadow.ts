/**
 * Shadow (monitoring-only) mode and the decision audit shared by every AI operator. With `shadow: true` an operator
 * still computes its decisions but passes records through unchanged on `out`; each decision goes to the `audit`
 * output instead (record key, output, model and version, latency), which a plan routes to a table. That is the
 * first phase of a rollout: watch what the model would do before it changes any data.
 */
import { batchFromRows, keyReader, columnData, type RecordBatch, requireColumn, type Schema, schemaOf, z, atPath } from '../../engine/api.js';

export const AUDIT_SCHEMA = schemaOf({
  operator: 'string',
  record_key: 'string',
  output: 'json',
  model: 'string',
  version: 'string',
  latency_ms: 'float64',
  decided_at: 'timestamp',
});

export const auditConfig = {
  shadow: z.boolean().default(false).describe('Monitoring only: records pass unchanged on `out`; decisions go to the `audit` output.'),
  audit: z.boolean().optional().describe('Also write every decision to the `audit` output (default: on in shadow mode).'),
  recordKey: z.array(z.string().min(1)).optional().describe('Columns identifying a record in the audit (default: the key columns, else the row position).'),
};

export interface AuditOptions {
  readonly shadow: boolean;
  readonly audit?: boolean | undefined;
  readonly recordKey?: readonly string[] | undefined;
}

export const audits = (cfg: AuditOptions): boolean => cfg.audit ?? cfg.shadow;

export const auditPorts = (cfg: AuditOptions): string[] => (audits(cfg) ? ['out', 'audit'] : ['out']);

/** Output schemas: `out` is the input itself in shadow mode, else `enriched`. */
export function auditedSchemas(cfg: AuditOptions, input: Schema, enriched: Schema, keyDefault: readonly string[] = []): Record<string, Schema> {
  (cfg.recordKey ?? keyDefault).forEach((c, i) => atPath(['recordKey', i], () => requireColumn(input, c, [])));
  return { out: cfg.shadow ? input : enriched, ...(audits(cfg) ? { audit: AUDIT_SCHEMA } : {}) };
}

export interface Decision {
  readonly row: number;
  readonly output: unknown;
  readonly latencyMs: number;
}

/** Builds audit rows for decisions on `batch`; the record key is the key columns' values, or the row position. */
export function auditBatch(
  operator: string,
  model: string,
  version: string,
  batch: RecordBatch,
  input: Schema,
  keyColumns: readonly string[],
  decisions: readonly Decision[],
  decidedAt: number,
): RecordBatch {
  const key = keyColumns.length
    ? keyReader(
        keyColumns.map((c) =>
          columnData(
            batch,
            input.fields.findIndex((f) => f.name === c),
          ),
        ),
      )
    : (i: number) => String(i);
  return batchFromRows(
    AUDIT_SCHEMA,
    decisions.map((d) => ({
      operator,
      record_key: key(d.row),
      output: JSON.stringify(d.output),
      model,
      version,
      latency_ms: d.latencyMs,
      decided_at: decidedAt,
    })),
  );
}
