/**
 * `window_top_n`: keeps, per key and window, the rows with the highest (or lowest) `orderBy` values — Flink SQL's
 * Window Top-N (`ROW_NUMBER()/RANK() OVER (PARTITION BY window … ORDER BY …) <= n`). With `window`, rows are
 * assigned to tumbling or sliding windows of `timeColumn` and the output gains window_start and window_end; without
 * it, rows are grouped by key and by their `timeColumn` value (e.g. the `window_time` of an upstream window
 * aggregate). A group is emitted when the watermark reaches its time. `withTies` keeps rows equal to the n-th
 * (RANK semantics), as Nexmark q5 and q7 need. Rows arriving after their group was emitted go to `late`.
 */
import {
  AbflowError,
  atPath,
  columnData,
  columnTypeOf,
  defineOperator,
  duration,
  Field,
  requireColumn,
  keyReader,
  Schema,
  fireTime,
  shouldFire,
  slidingWindowStarts,
  toArrowType,
  vecFromData,
  z,
  takeBatch,
  type Collector,
} from '../../engine/api.js';
import { valueOf } from './aggregates.js';
import { type Row, rowReader, rowsToBatch } from './rows.js';
import { TimerHeap } from './window-core.js';

const config = z
  .object({
    keyBy: z.array(z.string().min(1)).default([]).describe('Groups ranked separately (besides the window).'),
    timeColumn: z.string().min(1).describe('Event-time column (a timestamp).'),
    window: z
      .discriminatedUnion('type', [
        z.object({ type: z.literal('tumbling'), size: duration() }).strict(),
        z.object({ type: z.literal('sliding'), size: duration(), slide: duration() }).strict(),
      ])
      .optional()
      .describe('Assign rows to windows of timeColumn; omit when rows already carry their window (group by time).'),
    orderBy: z.string().min(1).describe('Column to rank by.'),
    descending: z.boolean().default(true).describe('Highest first (default) or lowest first.'),
    limit: z.number().int().min(1).default(1).describe('Rows to keep per group.'),
    withTies: z.boolean().default(true).describe('Also keep rows equal to the last kept one (RANK semantics).'),
  })
  .strict();

type Config = z.output<typeof config>;

function outputSchema(cfg: Config, input: Schema): Schema {
  if (!cfg.window) return input;
  for (const n of ['window_start', 'window_end'])
    if (input.fields.some((f) => f.name === n))
      throw new AbflowError('config', `input already has a \`${n}\` column; drop \`window\` to rank existing windows`, { path: ['window'] });
  return new Schema([...input.fields, new Field('window_start', toArrowType('timestamp'), true), new Field('window_end', toArrowType('timestamp'), true)]);
}

interface Group {
  key: string;
  /** The row key (key columns) the group belongs to: what checkpoints partition by. */
  base: string;
  start: number;
  end: number;
  /** Candidates, best first: [order value, row]. */
  rows: [number | string, Row][];
}

export const windowTopN = defineOperator({
  kind: 'window_top_n',
  summary: 'Keeps the top n rows by a column per key and window (Flink Window Top-N; ties optional).',
  config,
  execution: 'keyed',
  deadLetters: true,
  keyBy: (cfg) => cfg.keyBy,
  ports: () => ['out', 'late'],
  examples: [
    {
      title: 'Highest bid per 10 s (Nexmark q7)',
      yaml: `id: highest\nkind: window_top_n\ninputs: [bids]\nconfig:\n  timeColumn: dateTime\n  window: { type: tumbling, size: 10s }\n  orderBy: price`,
    },
    {
      title: 'Hottest auctions per window (Nexmark q5)',
      yaml: `id: hottest\nkind: window_top_n\ninputs: [bid_counts]\nconfig:\n  keyBy: [window_start, window_end]\n  timeColumn: window_time\n  orderBy: num`,
    },
  ],
  display: (cfg) => ({ orderBy: `${cfg.orderBy} ${cfg.descending ? 'desc' : 'asc'}`, limit: String(cfg.limit) }),
  outputSchemas(cfg, [input]) {
    for (const [i, k] of cfg.keyBy.entries()) atPath(['keyBy', i], () => requireColumn(input!, k, []));
    const t = atPath(['timeColumn'], () => requireColumn(input!, cfg.timeColumn, []));
    if (columnTypeOf(input!.fields[t]!.type) !== 'timestamp')
      throw new AbflowError('expression_type', `\`${cfg.timeColumn}\` is not a timestamp`, { path: ['timeColumn'] });
    atPath(['orderBy'], () => requireColumn(input!, cfg.orderBy, []));
    return { out: outputSchema(cfg, input!), late: input! };
  },
  create(cfg, ctx) {
    const input = ctx.inputs[0]!;
    const out = outputSchema(cfg, input);
    const keyIdx = cfg.keyBy.map((k) => requireColumn(input, k, []));
    const timeIdx = requireColumn(input, cfg.timeColumn, []);
    const orderIdx = requireColumn(input, cfg.orderBy, []);
    const orderType = columnTypeOf(input.fields[orderIdx]!.type);
    const groups = new Map<string, Group>();
    const timers = new TimerHeap();
    let watermark = Number.MIN_SAFE_INTEGER;
    const better = (a: number | string, b: number | string) => (cfg.descending ? a > b : a < b);
    const fire = (until: number, o: Collector) => {
      const rows: Row[] = [];
      while (timers.size && timers.peek() <= until) {
        const t = timers.pop();
        const g = groups.get(t.key);
        if (!g) continue;
        groups.delete(t.key);
        for (const [, r] of g.rows) rows.push(cfg.window ? [...r, g.start, g.end] : r);
      }
      if (rows.length) o.emit(rowsToBatch(out, rows));
    };
    return {
      processBatch(batch, o) {
        const keyOf = keyIdx.length ? keyReader(keyIdx.map((i) => columnData(batch, i))) : () => '';
        const times = vecFromData(columnData(batch, timeIdx), 'timestamp');
        const order = vecFromData(columnData(batch, orderIdx), orderType);
        const read = rowReader(batch);
        const late: number[] = [];
        const noTime: number[] = [];
        for (let i = 0; i < batch.numRows; i++) {
          const ts = valueOf(times, i) as number | null;
          const v = valueOf(order, i) as number | string | null;
          if (ts === null) {
            noTime.push(i);
            continue;
          }
          if (v === null) continue; // NULLS LAST: a null never ranks above a value, so it is never kept
          const base = keyOf(i);
          const windows = cfg.window
            ? slidingWindowStarts(ts, cfg.window.size, cfg.window.type === 'sliding' ? cfg.window.slide : cfg.window.size).map(
                (s) => [s, s + cfg.window!.size] as const,
              )
            : [[ts, ts + 1] as const];
          let taken = false;
          for (const [start, end] of windows) {
            if (shouldFire(end, watermark)) continue;
            taken = true;
            const gk = `${base}\u0002${start}`;
            let g = groups.get(gk);
            if (!g) {
              groups.set(gk, (g = { key: gk, base, start, end, rows: [] }));
              timers.push(fireTime(end), gk, start);
            }
            const n = g.rows.length;
            if (n >= cfg.limit) {
              const last = g.rows[cfg.limit - 1]![0];
              if (better(last, v) || (!cfg.withTies && last === v)) continue;
            }
            let at = n;
            while (at > 0 && better(v, g.rows[at - 1]![0])) at--;
            g.rows.splice(at, 0, [v, read(i)]);
            if (g.rows.length > cfg.limit) {
              const cut = g.rows[cfg.limit - 1]![0];
              let keep = cfg.limit;
              if (cfg.withTies) while (keep < g.rows.length && g.rows[keep]![0] === cut) keep++;
              g.rows.length = keep;
            }
          }
          if (!taken) late.push(i);
        }
        if (late.length) o.emit(takeBatch(batch, Int32Array.from(late)), 'late', Int32Array.from(late));
        o.deadLetter(
          noTime,
          noTime.map(() => `no event time: \`${cfg.timeColumn}\` is null`),
        );
      },
      onWatermark(ms, o) {
        watermark = ms;
        fire(ms, o);
      },
      snapshot() {
        return { entries: [...groups.values()].map((g) => [g.base, g] as const), shared: { watermark } };
      },
      restore(state) {
        watermark = Math.max(watermark, (state.shared as { watermark: number } | undefined)?.watermark ?? watermark);
        for (const [, v] of state.entries) {
          const g = v as Group;
          groups.set(g.key, g);
          timers.push(fireTime(g.end), g.key, g.start);
        }
      },
    };
  },
});
