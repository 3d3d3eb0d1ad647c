/**
 * `console` sink: prints the first rows as a readable table when the run ends (and how many rows it received).
 * Meant for trying plans out; use `jsonl` with `path: "-"` to stream every row.
 */
import { cellValue, columnData, concatBatches, defineSink, type RecordBatch, takeBatch, z } from '../../engine/api.js';

const config = z
  .object({
    limit: z.number().int().min(1).max(10_000).default(20).describe('Rows to show.'),
    title: z.string().optional().describe('Heading above the table (default: the sink id).'),
  })
  .strict();

export function formatTable(batch: RecordBatch, limit: number): string {
  const names = batch.schema.fields.map((f) => f.name);
  const rows: string[][] = [];
  for (let i = 0; i < Math.min(limit, batch.numRows); i++)
    rows.push(
      names.map((_, c) => {
        const v = cellValue(columnData(batch, c), i);
        const s = v === null ? '∅' : typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(2) : String(v);
        return s.length > 40 ? s.slice(0, 39) + '…' : s;
      }),
    );
  const widths = names.map((n, c) => Math.max(n.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((s, c) => s.padEnd(widths[c]!)).join(' │ ');
  return [line(names), widths.map((w) => '─'.repeat(w)).join('─┼─'), ...rows.map(line)].join('\n');
}

export const consoleSink = defineSink({
  kind: 'console',
  summary: 'Prints the first rows as a table when the run ends.',
  config,
  examples: [{ title: 'Peek at routed rows', yaml: `id: peek\nkind: console\ninputs: [route.large]\nconfig:\n  limit: 10` }],
  create(cfg, ctx) {
    const kept: RecordBatch[] = [];
    let keptRows = 0;
    let total = 0;
    return {
      write(batch) {
        total += batch.numRows;
        if (keptRows >= cfg.limit) return;
        const n = Math.min(batch.numRows, cfg.limit - keptRows);
        kept.push(
          n === batch.numRows
            ? batch
            : takeBatch(
                batch,
                Int32Array.from({ length: n }, (_, i) => i),
              ),
        );
        keptRows += n;
      },
      async close() {
        const lines = [`── ${cfg.title ?? ctx.nodeId}: ${total} rows${total > keptRows ? ` (first ${keptRows} shown)` : ''}`];
        if (kept.length) lines.push(formatTable(concatBatches(kept[0]!.schema, kept), cfg.limit));
        process.stderr.write(lines.join('\n') + '\n');
      },
    };
  },
});
