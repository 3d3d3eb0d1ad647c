/**
 * `quality_gate`: declarative data-quality rules for one stream. Records that fail a record rule go to
 * `quarantine` with machine-readable reason codes (rules.ts) and messages; everything else goes to `out`; the two
 * always add up to the input. Stream-level findings — schema drift, null rates and volume per window — go to
 * `events`. `mode: monitor` reports the same but passes every record to `out` (quarantine then holds copies), for
 * trying rules on live data before enforcing them.
 *
 * With `record: <json column>` the gate checks each record field by field against the declared `schema` (fields
 * missing, not declared, or of another type) and outputs the declared fields as typed columns: a schema-on-write
 * gate for raw JSON such as Airbyte records. Without it, the rules apply to the input's columns and the declared
 * `schema`, if any, is compared with the input schema once (drift events at the start).
 *
 * One instance sees the whole stream (keyed execution with no key: a single partition on a worker thread), so
 * uniqueness and running statistics are exact; their state is checkpointed.
 */
import {
  AbflowError,
  appendValue,
  atPath,
  batchFromRows,
  cellValue,
  ColumnBuilder,
  type ColumnType,
  columnData,
  columnTypeOf,
  type Collector,
  columnTypeSchema,
  defineOperator,
  duration,
  Field,
  makeBatch,
  parseTimestamp,
  type RecordBatch,
  requireColumn,
  Schema,
  schemaOf,
  stringsOf,
  takeBatch,
  toArrowType,
  z,
} from '../../engine/api.js';
import { type CompiledRule, compileRule, expireSeen, newRuleState, recordDrift, ruleSchema, type RuleState, type Violation } from './rules.js';

const driftAction = z.enum(['quarantine', 'event']);

const config = z
  .object({
    mode: z
      .enum(['enforce', 'monitor'])
      .default('enforce')
      .describe('enforce: failing records go to quarantine only; monitor: every record passes, failures are copied to quarantine.'),
    record: z
      .string()
      .min(1)
      .optional()
      .describe('A JSON column holding the whole record, checked field by field against `schema` and output as typed columns.'),
    schema: z.record(z.string(), columnTypeSchema).optional().describe('Declared schema: field → type (required with `record`).'),
    drift: z
      .object({ newFields: driftAction.default('event'), missingFields: driftAction.default('quarantine'), typeMismatch: driftAction.default('quarantine') })
      .strict()
      .default({ newFields: 'event', missingFields: 'quarantine', typeMismatch: 'quarantine' })
      .describe('Per kind of record drift: quarantine the record, or only report an event (once per field).'),
    rules: z.array(ruleSchema).default([]).describe('Record rules, each with one check.'),
    monitors: z
      .object({
        window: duration().default(60_000),
        nullRate: z.record(z.string(), z.number().min(0).max(1)).default({}).describe('column → highest tolerated share of nulls per window.'),
        volume: z
          .object({ min: z.number().int().min(0).optional(), max: z.number().int().positive().optional(), deviation: z.number().positive().optional() })
          .strict()
          .optional()
          .describe('Records per window: fixed bounds, and/or `deviation` × σ from the mean of earlier windows.'),
      })
      .strict()
      .optional()
      .describe('Stream-level checks per processing-time window, reported on `events`.'),
  })
  .strict()
  .refine((c) => !c.record || c.schema, { message: '`record` needs the declared `schema` of its fields', path: ['schema'] });

type Config = z.infer<typeof config>;

export const EVENTS_SCHEMA = schemaOf({
  at: 'timestamp',
  code: 'string',
  column: 'string',
  message: 'string',
  details: 'json',
  window_start: 'timestamp',
  window_end: 'timestamp',
});

interface Plan {
  readonly out: Schema;
  readonly quarantine: Schema;
  readonly recordIdx: number;
  readonly types: Readonly<Record<string, ColumnType>>;
  readonly rules: readonly CompiledRule[];
  readonly startupDrift: readonly Violation[];
}

function plan(cfg: Config, input: Schema): Plan {
  const inputTypes = Object.fromEntries(input.fields.map((f) => [f.name, columnTypeOf(f.type)]));
  let recordIdx = -1;
  let out = input;
  let types: Record<string, ColumnType> = inputTypes;
  const startupDrift: Violation[] = [];
  if (cfg.record) {
    recordIdx = atPath(['record'], () => requireColumn(input, cfg.record!, []));
    if (!['json', 'string'].includes(inputTypes[cfg.record]!))
      throw new AbflowError('config', `\`${cfg.record}\` is ${inputTypes[cfg.record]}, not a JSON column`, { path: ['record'] });
    types = { ...cfg.schema! };
    const kept = input.fields.filter((_, i) => i !== recordIdx);
    for (const name of Object.keys(types))
      if (kept.some((f) => f.name === name))
        throw new AbflowError('config', `schema field \`${name}\` clashes with an input column`, { path: ['schema', name] });
    out = new Schema([...kept, ...Object.entries(types).map(([n, t]) => new Field(n, toArrowType(t), true))]);
  } else if (cfg.schema) {
    for (const [name, t] of Object.entries(cfg.schema)) {
      if (!(name in inputTypes)) startupDrift.push({ code: 'missing_field', column: name, message: `declared column ${name} is not in the stream` });
      else if (inputTypes[name] !== t) startupDrift.push({ code: 'type_mismatch', column: name, message: `${name} is ${inputTypes[name]}, declared ${t}` });
    }
    for (const name of Object.keys(inputTypes))
      if (!(name in cfg.schema)) startupDrift.push({ code: 'new_field', column: name, message: `column ${name} is not in the declared schema` });
  }
  const rules = cfg.rules.map((r, i) => {
    if (!(r.column in types))
      throw new AbflowError('config', `unknown column \`${r.column}\``, { path: ['rules', i, 'column'], hint: `columns: ${Object.keys(types).join(', ')}` });
    return compileRule(r, i, types[r.column], ['rules', i]);
  });
  for (const c of Object.keys(cfg.monitors?.nullRate ?? {}))
    if (!(c in types)) throw new AbflowError('config', `unknown column \`${c}\``, { path: ['monitors', 'nullRate', c] });
  const quarantine = new Schema([...input.fields, new Field('_dq_reason', toArrowType('string'), true), new Field('_dq_reasons', toArrowType('json'), true)]);
  return { out, quarantine, recordIdx, types, rules, startupDrift };
}

interface GateState {
  rules: RuleState;
  /** Drift already reported, as `code:column`. */
  reported: Record<string, true>;
  window: { start: number; count: number; nulls: Record<string, number> } | null;
  /** Record counts of closed windows, for the volume deviation check (Welford). */
  volume: { n: number; mean: number; m2: number };
}

export const qualityGate = defineOperator({
  kind: 'quality_gate',
  summary: 'Checks records against declared rules and schema; failures go to `quarantine` with reason codes, stream findings to `events`.',
  config,
  execution: 'keyed',
  keyBy: () => [],
  processingTime: (cfg) => cfg.monitors !== undefined,
  ports: () => ['out', 'quarantine', 'events'],
  examples: [
    {
      title: 'Gate Airbyte users: schema, enum and timestamp format',
      yaml: `id: users_gate\nkind: quality_gate\ninputs: [users_raw]\nconfig:\n  record: data\n  schema: { id: int64, email: string, created_at: string, blood_type: string, age: int64 }\n  rules:\n    - { column: id, notNull: true }\n    - { column: id, unique: { within: 1h } }\n    - { column: created_at, regex: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}' }\n    - { column: blood_type, enum: [A+, A-, B+, B-, AB+, AB-, O+, O-] }\n    - { column: age, range: { min: 0, max: 120 } }`,
    },
    {
      title: 'Monitor a typed stream: outliers, freshness, null rate and volume',
      yaml: `id: payments_gate\nkind: quality_gate\ninputs: [payments]\nconfig:\n  mode: monitor\n  rules:\n    - { column: amount, outlier: { zScore: 5 } }\n    - { column: event_time, freshness: { maxLag: 15m } }\n  monitors:\n    window: 5m\n    nullRate: { customer_id: 0.01 }\n    volume: { min: 100, deviation: 4 }`,
    },
  ],
  display: (cfg) => ({ mode: cfg.mode, rules: String(cfg.rules.length), ...(cfg.record ? { record: cfg.record } : {}) }),
  outputSchemas(cfg, [input]) {
    const p = plan(cfg, input!);
    return { out: p.out, quarantine: p.quarantine, events: EVENTS_SCHEMA };
  },
  create(cfg, ctx) {
    const input = ctx.inputs[0]!;
    const p = plan(cfg, input);
    const fields = Object.keys(p.types);
    const monitored = Object.keys(cfg.monitors?.nullRate ?? {});
    let state: GateState = { rules: newRuleState(), reported: {}, window: null, volume: { n: 0, mean: 0, m2: 0 } };
    let started = false;
    const pendingEvents: Record<string, unknown>[] = [];
    const event = (code: string, column: string | null, message: string, details: unknown = null, window?: { start: number; end: number }) =>
      pendingEvents.push({
        at: ctx.clock.now(),
        code,
        column,
        message,
        details: JSON.stringify(details),
        window_start: window?.start ?? null,
        window_end: window?.end ?? null,
      });
    const driftOnce = (v: Violation) => {
      const key = `${v.code}:${v.column}`;
      if (state.reported[key]) return;
      state.reported[key] = true;
      event(v.code, v.column, v.message);
    };
    const flushEvents = (out: Collector) => {
      if (pendingEvents.length) out.emit(batchFromRows(EVENTS_SCHEMA, pendingEvents.splice(0)), 'events');
    };
    const closeWindow = (now: number) => {
      const w = state.window;
      const size = cfg.monitors!.window;
      if (!w || now < w.start + size) return;
      const span = { start: w.start, end: w.start + size };
      for (const c of monitored) {
        const rate = w.count ? (w.nulls[c] ?? 0) / w.count : 0;
        if (rate > cfg.monitors!.nullRate[c]!)
          event(
            'null_rate',
            c,
            `${(rate * 100).toFixed(1)}% of ${c} null in the window (max ${(cfg.monitors!.nullRate[c]! * 100).toFixed(1)}%)`,
            { nulls: w.nulls[c] ?? 0, records: w.count },
            span,
          );
      }
      const vol = cfg.monitors!.volume;
      if (vol) {
        if (vol.min !== undefined && w.count < vol.min)
          event('volume_low', null, `${w.count} records in the window (min ${vol.min})`, { records: w.count }, span);
        if (vol.max !== undefined && w.count > vol.max)
          event('volume_high', null, `${w.count} records in the window (max ${vol.max})`, { records: w.count }, span);
        const v = state.volume;
        if (vol.deviation !== undefined && v.n >= 3) {
          const sd = Math.sqrt(v.m2 / (v.n - 1));
          const z = sd > 0 ? (w.count - v.mean) / sd : 0;
          if (Math.abs(z) > vol.deviation)
            event(
              'volume_anomaly',
              null,
              `${w.count} records in the window, ${z.toFixed(1)} σ from the usual ${v.mean.toFixed(0)}`,
              { records: w.count, mean: v.mean, sd },
              span,
            );
        }
        v.n++;
        const d = w.count - v.mean;
        v.mean += d / v.n;
        v.m2 += d * (w.count - v.mean);
      }
      state.window = { start: w.start + size * Math.floor((now - w.start) / size), count: 0, nulls: {} };
    };
    return {
      processBatch(batch, out) {
        const now = ctx.clock.now();
        if (!started) {
          started = true;
          for (const v of p.startupDrift) driftOnce(v);
        }
        if (cfg.monitors) {
          closeWindow(now);
          state.window ??= { start: now - (now % cfg.monitors.window), count: 0, nulls: {} };
        }
        expireSeen(p.rules, state.rules, now);
        const n = batch.numRows;
        const records = p.recordIdx >= 0 ? stringsOf(columnData(batch, p.recordIdx)) : null;
        const cols =
          p.recordIdx >= 0
            ? null
            : new Map(
                fields.map((f) => [
                  f,
                  columnData(
                    batch,
                    input.fields.findIndex((x) => x.name === f),
                  ),
                ]),
              );
        const good: number[] = [];
        const bad: number[] = [];
        const reasons: Violation[][] = [];
        const parsed: (Record<string, unknown> | null)[] = [];
        for (let i = 0; i < n; i++) {
          const violations: Violation[] = [];
          let value: (f: string) => unknown;
          if (records) {
            let obj: Record<string, unknown> | null = null;
            try {
              const v = JSON.parse(records[i] ?? 'null') as unknown;
              if (v && typeof v === 'object' && !Array.isArray(v)) obj = v as Record<string, unknown>;
            } catch {
              /* reported below */
            }
            parsed.push(obj);
            if (!obj) {
              violations.push({ code: 'not_an_object', column: cfg.record!, message: `${cfg.record} is not a JSON object` });
              value = () => undefined;
            } else {
              for (const d of recordDrift(obj, p.types)) {
                const action = d.code === 'new_field' ? cfg.drift.newFields : d.code === 'missing_field' ? cfg.drift.missingFields : cfg.drift.typeMismatch;
                if (action === 'quarantine') violations.push(d);
                else driftOnce(d);
              }
              value = (f) => obj![f];
            }
          } else value = (f) => cellValue(cols!.get(f)!, i);
          for (const r of p.rules) {
            const v = r.check(value(r.rule.column), now, state.rules);
            if (v) violations.push(v);
          }
          if (state.window) {
            state.window.count++;
            for (const c of monitored) {
              const v = value(c);
              if (v === null || v === undefined) state.window.nulls[c] = (state.window.nulls[c] ?? 0) + 1;
            }
          }
          if (violations.length) {
            bad.push(i);
            reasons.push(violations);
          }
          if (!violations.length || cfg.mode === 'monitor') good.push(i);
        }
        if (bad.length) {
          const rows = Int32Array.from(bad);
          const q = takeBatch(batch, rows);
          const first = new ColumnBuilder('string', bad.length);
          const all = new ColumnBuilder('string', bad.length);
          for (const v of reasons) {
            first.appendString(v[0]!.code);
            all.appendString(JSON.stringify(v));
          }
          out.emit(makeBatch(p.quarantine, [...q.data.children, first.finish(), all.finish()], bad.length), 'quarantine', rows);
        }
        if (good.length) {
          const rows = Int32Array.from(good);
          out.emit(records ? typedBatch(p, batch, rows, parsed) : good.length === n ? batch : takeBatch(batch, rows), 'out', rows);
        }
        flushEvents(out);
      },
      onTick(now, out) {
        if (cfg.monitors) closeWindow(now);
        flushEvents(out);
      },
      close(out) {
        // A run that ends reports its last, partial window too.
        if (cfg.monitors && state.window) closeWindow(state.window.start + cfg.monitors.window);
        flushEvents(out);
      },
      snapshot: () => ({ entries: [['', state]] }),
      restore(s) {
        const saved = s.entries[0]?.[1] as GateState | undefined;
        if (saved) {
          state = saved;
          started = true;
        }
      },
    };
  },
});

/** The passing records of a JSON-record gate: the input's other columns plus the declared fields, typed. */
function typedBatch(p: Plan, batch: RecordBatch, rows: Int32Array, parsed: readonly (Record<string, unknown> | null)[]): RecordBatch {
  const kept = takeBatch(batch, rows);
  const children = kept.data.children.filter((_, i) => i !== p.recordIdx);
  for (const [name, type] of Object.entries(p.types)) {
    const b = new ColumnBuilder(type, rows.length);
    for (const r of rows) {
      const v = parsed[r]?.[name];
      if (v === null || v === undefined) b.appendNull();
      else if (type === 'json') b.appendString(JSON.stringify(v));
      else if (type === 'string') b.appendString(typeof v === 'string' ? v : JSON.stringify(v));
      else if (type === 'timestamp' || type === 'date') {
        const t = typeof v === 'string' ? parseTimestamp(v) : null;
        if (t === null) b.appendNull();
        else b.appendNumber(type === 'date' ? Math.floor(t / 86_400_000) : t);
      } else if (type === 'bool' ? typeof v === 'boolean' : typeof v === 'number') appendValue(b, v);
      else b.appendNull(); // a type mismatch the gate only reported (drift.typeMismatch: event)
    }
    children.push(b.finish());
  }
  return makeBatch(p.out, children, rows.length);
}
