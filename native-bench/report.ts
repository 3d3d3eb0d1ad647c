/** Benchmark result rows and their markdown/JSON output. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from dist/native-bench (the benchmarks) or native-bench (tests run the sources). */
export const REPO_ROOT = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../' : '../', import.meta.url));

export interface Row {
  scenario: string;
  name: string;
  rows?: number;
  /** Absent for quality scenarios (NAB), which report `score` instead. */
  recordsPerSec?: number;
  mbPerSec?: number;
  /** Speed relative to `baseline`, measured in the same run (> 1: faster). */
  ratio?: number;
  baseline?: string;
  /** End-to-end latency percentiles, where the scenario measures them. */
  latency?: { p50Ms: number; p99Ms: number };
  /** A quality score (the NAB standard-profile score). */
  score?: number;
  /** Peak resident set of the process that ran the scenario, in MiB. */
  peakRssMb?: number;
}

export function machine(): string {
  const c = cpus();
  return `${c.length} × ${c[0]?.model.trim() ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

function fmt(n: number | undefined, digits = 0): string {
  if (n === undefined) return '';
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(digits);
}

export function markdown(rows: Row[]): string {
  const lines = [
    `Machine: ${machine()}`,
    '',
    '| scenario | what | records/s | MB/s | ratio | baseline | latency p50 / p99 | peak RSS | score |',
    '|---|---|---:|---:|---:|---|---:|---:|---:|',
  ];
  for (const r of rows)
    lines.push(
      `| ${r.scenario} | ${r.name} | ${fmt(r.recordsPerSec)} | ${r.mbPerSec?.toFixed(0) ?? ''} | ${r.ratio === undefined ? '' : r.ratio.toFixed(2) + '×'} | ${r.baseline ?? ''} | ${r.latency ? `${r.latency.p50Ms.toFixed(0)} / ${r.latency.p99Ms.toFixed(0)} ms` : ''} | ${r.peakRssMb ? `${r.peakRssMb.toFixed(0)} MiB` : ''} | ${r.score?.toFixed(2) ?? ''} |`,
    );
  return lines.join('\n') + '\n';
}

export function save(rows: Row[], dir: string): string {
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const md = markdown(rows);
  writeFileSync(join(dir, `bench-${stamp}.md`), md);
  writeFileSync(join(dir, `bench-${stamp}.json`), JSON.stringify({ machine: machine(), rows }, null, 2));
  return md;
}
