/**
 * `dedupe`: drops repeats of a key seen within a TTL — records an Airbyte sync or a queue redelivers after a retry.
 * Keyed by the key columns, so each key's last-seen time lives in one partition's checkpointed state; a restored
 * job still recognises what it passed before the crash. Time is processing time, or event time from `timeColumn`
 * (then the TTL is measured between the records' own times and replays dedupe identically). Repeats go to the
 * `duplicates` output (counted as discarded when it is not connected), so nothing disappears silently.
 */
import {
  atPath,
  columnData,
  defineOperator,
  duration,
  isValid,
  keyReader,
  numbersOf,
  requireColumn,
  takeBatch,
  z,
  AbflowError,
  columnTypeOf,
} from '../../engine/api.js';

const config = z
  .object({
    key: z.array(z.string().min(1)).min(1).describe('Columns identifying a record (e.g. the primary key, or an idempotency key).'),
    ttl: duration().describe('How long a key is remembered after it was last seen.'),
    timeColumn: z.string().min(1).optional().describe('Event-time column measuring the TTL (default: processing time).'),
  })
  .strict();

export const dedupe = defineOperator({
  kind: 'dedupe',
  summary: 'Drops records whose key was seen within a TTL (redeliveries after retries); repeats go to `duplicates`.',
  config,
  execution: 'keyed',
  keyBy: (cfg) => cfg.key,
  processingTime: (cfg) => cfg.timeColumn === undefined,
  ports: () => ['out', 'duplicates'],
  examples: [{ title: 'Drop redelivered orders for a day', yaml: 'id: unique_orders\nkind: dedupe\ninputs: [orders]\nconfig:\n  key: [order_id]\n  ttl: 24h' }],
  display: (cfg) => ({ key: cfg.key.join(', '), ttl: `${cfg.ttl} ms`, ...(cfg.timeColumn ? { time: cfg.timeColumn } : {}) }),
  outputSchemas(cfg, [input]) {
    cfg.key.forEach((k, i) => atPath(['key', i], () => requireColumn(input!, k, [])));
    if (cfg.timeColumn) {
      const i = atPath(['timeColumn'], () => requireColumn(input!, cfg.timeColumn!, []));
      if (columnTypeOf(input!.fields[i]!.type) !== 'timestamp')
        throw new AbflowError('config', `\`${cfg.timeColumn}\` is not a timestamp column`, { path: ['timeColumn'] });
    }
    return { out: input!, duplicates: input! };
  },
  create(cfg, ctx) {
    const input = ctx.inputs[0]!;
    const keyIdx = cfg.key.map((k) => input.fields.findIndex((f) => f.name === k));
    const timeIdx = cfg.timeColumn ? input.fields.findIndex((f) => f.name === cfg.timeColumn) : -1;
    const seen = new Map<string, number>();
    let latest = -Infinity;
    const expire = (now: number) => {
      for (const [k, at] of seen) if (now - at >= cfg.ttl) seen.delete(k);
    };
    return {
      processBatch(batch, out) {
        const keyOf = keyReader(keyIdx.map((i) => columnData(batch, i)));
        const times = timeIdx >= 0 ? numbersOf(columnData(batch, timeIdx)) : null;
        const tcol = timeIdx >= 0 ? columnData(batch, timeIdx) : null;
        const now = ctx.clock.now();
        const keep: number[] = [];
        const repeat: number[] = [];
        for (let i = 0; i < batch.numRows; i++) {
          const t = times ? (isValid(tcol!, i) ? times[i]! : latest) : now;
          if (t > latest) latest = t;
          const k = keyOf(i);
          const at = seen.get(k);
          if (at !== undefined && Math.abs(t - at) < cfg.ttl) repeat.push(i);
          else {
            keep.push(i);
            seen.set(k, t);
          }
        }
        if (keep.length === batch.numRows) out.emit(batch);
        else {
          if (keep.length) out.emit(takeBatch(batch, Int32Array.from(keep)), 'out', Int32Array.from(keep));
          out.emit(takeBatch(batch, Int32Array.from(repeat)), 'duplicates', Int32Array.from(repeat));
        }
      },
      onTick(now) {
        if (!cfg.timeColumn) expire(now);
      },
      onWatermark(ms) {
        if (cfg.timeColumn) expire(ms);
      },
      snapshot: () => ({ entries: [...seen], shared: latest }),
      restore(state) {
        for (const [k, v] of state.entries) seen.set(k, v as number);
        if (typeof state.shared === 'number') latest = Math.max(latest, state.shared);
      },
    };
  },
});
