/**
 * Scenario (f): peak memory over a long input. `abflow run` (the CLI, as users run it) reads JSON lines from stdin
 * through parse → derive → filter → a 5-minute tumbling count per currency → DuckDB; the bench writes one ~1 GB file
 * of generated payments and streams it into stdin again and again up to `gb` GB, while sampling the process's peak
 * resident set (VmHWM: the engine and its worker threads are one process). Every pass repeats event times, so the
 * window operator sees later passes as late data (counted on its late port): state stays bounded by the watermark.
 */
import { spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PAYMENTS_JSONL_SCHEMA, writePaymentsJsonl } from './payments-data.js';
import { USD_EXPR } from './pipeline.js';
import { REPO_ROOT, type Row } from './report.js';

const ROWS_PER_GB = 4_900_000; // ≈ 205 bytes per generated payment line

function peakRssBytes(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0; // the process has exited
  }
}

export async function memoryBench(gb: number): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'abflow-bench-memory-'));
  const chunk = join(dir, 'payments.jsonl');
  await writePaymentsJsonl(chunk, Math.min(ROWS_PER_GB, Math.ceil(gb * ROWS_PER_GB)));
  const chunkBytes = statSync(chunk).size;
  const passes = Math.max(1, Math.round((gb * 1e9) / chunkBytes));
  writeFileSync(
    join(dir, 'plan.yaml'),
    `
name: bench_memory
engine: { parallelism: 2, batchSize: 8192 }
sources:
  - { id: payments, kind: jsonl, config: { path: "-", schema: ${JSON.stringify(PAYMENTS_JSONL_SCHEMA)} } }
operators:
  - { id: enrich, kind: derive, inputs: [payments], config: { columns: { amount_usd: ${JSON.stringify(USD_EXPR)} } } }
  - { id: settled, kind: filter, inputs: [enrich], config: { where: "status != 'pending'" } }
  - { id: time, kind: watermark, inputs: [settled], config: { column: event_time, maxOutOfOrderness: 30s } }
  - id: per_currency
    kind: window_aggregate
    inputs: [time]
    config: { keyBy: [currency], timeColumn: event_time, window: { type: tumbling, size: 5m }, aggregates: { n: count(), usd: sum(amount_usd) } }
sinks:
  - { id: windows, kind: duckdb, inputs: [per_currency], config: { path: out.duckdb, table: per_currency } }
  - { id: late, kind: blackhole, inputs: [per_currency.late] }
`,
  );
  const t = performance.now();
  const child = spawn(process.execPath, [join(REPO_ROOT, 'dist/engine/cli.js'), 'run', 'plan.yaml'], { cwd: dir, stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, peakRssBytes(child.pid!))), 250);
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  for (let i = 0; i < passes; i++) {
    await new Promise<void>((resolve, reject) => {
      const s = createReadStream(chunk, { highWaterMark: 1 << 20 });
      s.on('error', reject);
      s.on('end', resolve);
      s.pipe(child.stdin, { end: false });
    });
  }
  child.stdin.end();
  const code = await exited;
  clearInterval(sampler);
  const ms = performance.now() - t;
  rmSync(dir, { recursive: true, force: true });
  const m = /done: (\d+) rows in/.exec(stderr);
  if (code !== 0 || !m) throw new Error(`abflow run exited with ${code}:\n${stderr}`);
  const rows = Number(m[1]);
  const bytes = chunkBytes * passes;
  return [
    {
      scenario: 'f: memory',
      name: `${(bytes / 1e9).toFixed(1)} GB of JSON lines on stdin → windows → DuckDB (abflow run, parallelism 2)`,
      rows,
      recordsPerSec: (rows / ms) * 1000,
      mbPerSec: (bytes / 1e6 / ms) * 1000,
      peakRssMb: peak / 2 ** 20,
      ratio: peak / 2 ** 30,
      baseline: 'peak RSS / 1 GiB',
    },
  ];
}
