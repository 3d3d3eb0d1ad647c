/**
 * Scenario `plan-size`: compiling (what `abflow validate` does: YAML, schema, expressions) plans with one `derive` of
 * 1 000, 5 000 and 25 000 columns, each in a process of its own (compile time, and that process's peak RSS). Compile cost must grow linearly with plan size: the
 * ratio row divides the per-column cost at 25 000 by the one at 1 000 (≈ 1 is linear; it was 30× with a schema per
 * derived column and YAML's pairwise duplicate-key check: 35 s and 4 GB at 25 000).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT, type Row } from './report.js';

const SIZES = [1_000, 5_000, 25_000];

function widePlan(columns: number): string {
  let text =
    'name: wide\nsources:\n  - { id: src, kind: generate, config: { generator: payments, count: 1 } }\noperators:\n  - id: d\n    kind: derive\n    inputs: [src]\n    config:\n      columns:\n';
  for (let i = 0; i < columns; i++) text += `        c${i}: "amount * ${i} + ${i % 7}"\n`;
  return text + 'sinks:\n  - { id: out, kind: blackhole, inputs: [d] }\n';
}

/** Compiles `file` as `abflow validate` does, in a fresh process: wall ms and that process's peak RSS (MiB). */
function validate(file: string): { ms: number; rssMb: number } {
  const dist = (m: string) => JSON.stringify(pathToFileURL(join(REPO_ROOT, 'dist', m)).href);
  const script = `
    const { loadComponents } = await import(${dist('engine/builtins.js')});
    const { compilePlan } = await import(${dist('engine/compile/compile.js')});
    const { loadPlanFile } = await import(${dist('engine/plan/load.js')});
    const { registry } = await loadComponents();
    const t = performance.now();
    await compilePlan(loadPlanFile(${JSON.stringify(file)}), registry);
    process.stdout.write(JSON.stringify({ ms: performance.now() - t, rssKb: process.resourceUsage().maxRSS }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`compiling ${file} failed: ${r.stderr}`);
  const { ms, rssKb } = JSON.parse(r.stdout) as { ms: number; rssKb: number };
  return { ms, rssMb: rssKb / 1024 };
}

export async function planSizeBench(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'abflow-bench-plan-'));
  try {
    const measured = SIZES.map((n) => {
      const file = join(dir, `wide-${n}.yaml`);
      writeFileSync(file, widePlan(n));
      return { n, ...validate(file) };
    });
    const perColumn = (m: (typeof measured)[number]) => m.ms / m.n;
    const rows: Row[] = measured.map((m) => ({
      scenario: 'plan-size',
      name: `validate, one derive of ${m.n} columns (${m.ms.toFixed(0)} ms)`,
      rows: m.n,
      recordsPerSec: (m.n / m.ms) * 1000,
      peakRssMb: m.rssMb,
    }));
    rows.push({
      scenario: 'plan-size',
      name: 'cost per column at 25 000 vs at 1 000 (≈ 1: linear)',
      ratio: perColumn(measured[2]!) / perColumn(measured[0]!),
      baseline: 'per column at 1 000',
    });
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
