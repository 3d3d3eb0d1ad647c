/**
 * `window_join`: joins two inputs on key within the same tumbling event-time window (Flink's window join; Nexmark
 * q8). `inner` emits every matching pair (left columns, then right columns — a right column whose name is taken is
 * prefixed `right_`); `semi` emits each left row once when the window holds at least one matching right row. Both add
 * window_start and window_end. A window is joined when the watermark (the minimum over both inputs) reaches its end −
 * 1; rows arriving after that go to `late_left` / `late_right`.
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
  takeBatch,
  toArrowType,
  vecFromData,
  windowStart,
  z,
} from '../../engine/api.js';
import { valueOf } from './aggregates.js';
import { type Row, rowReader, rowsToBatch } from './rows.js';
import { TimerHeap } from './window-core.js';

const side = z
  .object({
    key: z.array(z.string().min(1)).min(1).describe('Join key columns of this input.'),
    timeColumn: z.string().min(1).describe('Event-time column of this input.'),
  })
  .strict();

const config = z
  .object({
    window: z
      .object({ type: z.literal('tumbling'), size: duration() })
      .strict()
      .describe('The window both sides share.'),
    left: side,
    right: side,
    type: z.enum(['inner', 'semi']).default('inner').describe('`inner`: all matching pairs; `semi`: left rows that have a match.'),
  })
  .strict();

type Config = z.output<typeof config>;

function outputSchema(cfg: Config, left: Schema, right: Schema): Schema {
  const fields = [...left.fields];
  if (cfg.type === 'inner') {
    const names = new Set(fields.map((f) => f.name));
    for (const f of right.fields) fields.push(names.has(f.name) ? new Field(`right_${f.name}`, f.type, true) : f);
  }
  fields.push(new Field('window_start', toArrowType('timestamp'), true), new Field('window_end', toArrowType('timestamp'), true));
  return new Schema(fields);
}

interface Cell {
  /** Row key (join key values) and cell id: checkpoints partition cells by the row key. */
  base: string;
  id: string;
  start: number;
  left: Row[];
  right: Row[];
  rightSeen: boolean;
}

export const windowJoin = defineOperator({
  kind: 'window_join',
  summary: 'Joins two inputs on key within the same tumbling window (inner or semi join).',
  config,
  execution: 'keyed',
  deadLetters: true,
  inputs: { min: 2, max: 2 },
  keyBy: (cfg, input) => (input === 0 ? cfg.left.key : cfg.right.key),
  ports: () => ['out', 'late_left', 'late_right'],
  examples: [
    {
      title: 'People who opened an auction in the same 10 s window (Nexmark q8)',
      yaml: `id: new_sellers\nkind: window_join\ninputs: [people, auctions]\nconfig:\n  window: { type: tumbling, size: 10s }\n  left: { key: [id], timeColumn: dateTime }\n  right: { key: [seller], timeColumn: dateTime }\n  type: semi`,
    },
  ],
  display: (cfg) => ({ type: cfg.type, on: `${cfg.left.key.join(',')} = ${cfg.right.key.join(',')}` }),
  outputSchemas(cfg, [left, right]) {
    const check = (s: Schema, c: Config['left'], name: 'left' | 'right') => {
      const t = atPath([name, 'timeColumn'], () => requireColumn(s, c.timeColumn, []));
      if (columnTypeOf(s.fields[t]!.type) !== 'timestamp')
        throw new AbflowError('expression_type', `\`${c.timeColumn}\` is not a timestamp`, { path: [name, 'timeColumn'] });
      return c.key.map((k, i) => columnTypeOf(s.fields[atPath([name, 'key', i], () => requireColumn(s, k, []))]!.type));
    };
    const lt = check(left!, cfg.left, 'left');
    const rt = check(right!, cfg.right, 'right');
    if (lt.length !== rt.length || lt.some((t, i) => t !== rt[i]))
      throw new AbflowError('config', `join keys differ in type: (${lt.join(', ')}) vs (${rt.join(', ')})`, {
        path: ['right', 'key'],
        hint: 'cast one side so both keys have the same types',
      });
    return { out: outputSchema(cfg, left!, right!), late_left: left!, late_right: right! };
  },
  create(cfg, ctx) {
    const [left, right] = ctx.inputs as [Schema, Schema];
    const out = outputSchema(cfg, left, right);
    const sides = [cfg.left, cfg.right].map((c, k) => {
      const s = k === 0 ? left : right;
      return { keyIdx: c.key.map((n) => requireColumn(s, n, [])), timeIdx: requireColumn(s, c.timeColumn, []) };
    });
    const cells = new Map<string, Cell>();
    const timers = new TimerHeap();
    let watermark = Number.MIN_SAFE_INTEGER;
    const size = cfg.window.size;
    return {
      processBatch(batch, o, input) {
        const sideCfg = sides[input]!;
        const keyOf = keyReader(sideCfg.keyIdx.map((i) => columnData(batch, i)));
        const times = vecFromData(columnData(batch, sideCfg.timeIdx), 'timestamp');
        const read = rowReader(batch);
        const late: number[] = [];
        const noTime: number[] = [];
        for (let i = 0; i < batch.numRows; i++) {
          const ts = valueOf(times, i) as number | null;
          if (ts === null) {
            noTime.push(i);
            continue;
          }
          const start = windowStart(ts, size);
          if (start + size - 1 <= watermark) {
            late.push(i);
            continue;
          }
          const base = keyOf(i);
          const ck = `${base}\u0002${start}`;
          let cell = cells.get(ck);
          if (!cell) {
            cells.set(ck, (cell = { base, id: ck, start, left: [], right: [], rightSeen: false }));
            timers.push(start + size - 1, ck, start);
          }
          if (input === 0) cell.left.push(read(i));
          else if (cfg.type === 'inner') cell.right.push(read(i));
          else cell.rightSeen = true;
        }
        if (late.length) o.emit(takeBatch(batch, Int32Array.from(late)), input === 0 ? 'late_left' : 'late_right', Int32Array.from(late));
        o.deadLetter(
          noTime,
          noTime.map(() => `no event time: \`${sideCfg === sides[0] ? cfg.left.timeColumn : cfg.right.timeColumn}\` is null`),
        );
      },
      onWatermark(ms, o) {
        watermark = ms;
        const rows: Row[] = [];
        while (timers.size && timers.peek() <= ms) {
          const t = timers.pop();
          const cell = cells.get(t.key);
          if (!cell) continue;
          cells.delete(t.key);
          const w = [cell.start, cell.start + size];
          if (cfg.type === 'semi') {
            if (cell.rightSeen) for (const l of cell.left) rows.push([...l, ...w]);
          } else for (const l of cell.left) for (const r of cell.right) rows.push([...l, ...r, ...w]);
        }
        if (rows.length) o.emit(rowsToBatch(out, rows));
      },
      snapshot() {
        return { entries: [...cells.values()].map((c) => [c.base, c] as const), shared: { watermark } };
      },
      restore(state) {
        watermark = Math.max(watermark, (state.shared as { watermark: number } | undefined)?.watermark ?? watermark);
        for (const [, v] of state.entries) {
          const c = v as Cell;
          cells.set(c.id, c);
          timers.push(c.start + size - 1, c.id, c.start);
        }
      },
    };
  },
});
