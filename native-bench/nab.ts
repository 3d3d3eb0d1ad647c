/**
 * `npm run bench -- nab`: the Numenta Anomaly Benchmark. plans/nab.yaml runs `anomaly_detect` over every series of
 * the corpus (shared/fixtures/nab, or NAB_ROOT for a full NAB checkout) through the engine, once per detector; the
 * scores are written in NAB's results layout (native-bench/results/nab/<detector>/<category>/<detector>_<file>.csv)
 * and scored with the TypeScript port of NAB's scorer (nab/score.ts). The published reference results, where the
 * corpus has them, are rescored beside them as a check of the scorer.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { loadComponents } from '../engine/builtins.js';
import { compilePlan } from '../engine/compile/compile.js';
import { loadPlanText } from '../engine/plan/load.js';
import { Job } from '../engine/runtime/job.js';
import { type NabSeries, readCorpus, readResults } from './nab/corpus.js';
import { type CorpusScore, PROFILES, scoreCorpus } from './nab/score.js';
import { REPO_ROOT, type Row } from './report.js';

const RESULTS = join(REPO_ROOT, 'native-bench/results/nab');

/** The detectors compared: the default and the classic baseline, each as an `anomaly_detect` detector config. */
const DETECTORS: Record<string, Record<string, unknown>> = {
  abflow_novelty: { kind: 'novelty' },
  abflow_ewma_z: { kind: 'ewma_z' },
};

/** Runs plans/nab.yaml with `detector` over the corpus; returns each series' scores in row order. */
export async function runDetector(corpus: readonly NabSeries[], detector: Record<string, unknown>, work: string): Promise<Map<string, Float64Array>> {
  mkdirSync(work, { recursive: true });
  const input = join(work, 'input.jsonl');
  const output = join(work, 'scores.jsonl');
  writeFileSync(
    input,
    corpus.flatMap((s) => s.timestamps.map((t, i) => JSON.stringify({ series: s.name, seq: i, timestamp: t, value: s.values[i] }))).join('\n') + '\n',
  );
  const plan = parse(readFileSync(join(REPO_ROOT, 'plans/nab.yaml'), 'utf8')) as {
    sources: { config: { path: string } }[];
    operators: { config: Record<string, unknown> }[];
    sinks: { config: { path: string } }[];
  };
  plan.sources[0]!.config.path = input;
  plan.operators[0]!.config.detector = detector;
  plan.sinks[0]!.config.path = output;
  const { registry, modules } = await loadComponents();
  await new Job(await compilePlan(loadPlanText(stringify(plan)), registry), { modules }).run();
  const scores = new Map(corpus.map((s) => [s.name, new Float64Array(s.values.length).fill(NaN)]));
  for (const line of readFileSync(output, 'utf8').split('\n')) {
    if (!line) continue;
    const r = JSON.parse(line) as { series: string; seq: number; anomaly_score: number | null };
    scores.get(r.series)![r.seq] = r.anomaly_score ?? 0;
  }
  for (const [name, s] of scores) if (s.some(Number.isNaN)) throw new Error(`${name}: rows missing from the detector's output`);
  return scores;
}

function writeResults(detector: string, corpus: readonly NabSeries[], scores: Map<string, Float64Array>): void {
  for (const s of corpus) {
    const file = join(RESULTS, detector, dirname(s.name), `${detector}_${basename(s.name)}`);
    mkdirSync(dirname(file), { recursive: true });
    const v = scores.get(s.name)!;
    writeFileSync(file, 'timestamp,value,anomaly_score\n' + s.timestamps.map((t, i) => `${t},${s.values[i]},${v[i]}`).join('\n') + '\n');
  }
}

export interface NabScores {
  readonly detector: string;
  readonly profiles: Record<string, CorpusScore>;
}

function scoreAll(detector: string, corpus: readonly NabSeries[], scores: (s: NabSeries) => ArrayLike<number>): NabScores {
  const files = corpus.map((s) => ({ name: s.name, timestamps: s.timestamps, windows: s.windows, scores: scores(s) }));
  return { detector, profiles: Object.fromEntries(Object.entries(PROFILES).map(([p, prof]) => [p, scoreCorpus(files, prof)])) };
}

export function nabRoot(): string {
  return process.env.NAB_ROOT ?? join(REPO_ROOT, '../shared/fixtures/nab');
}

export async function nabScores(): Promise<NabScores[]> {
  const root = nabRoot();
  if (!existsSync(join(root, 'labels/combined_windows.json'))) throw new Error(`no NAB corpus at ${root} (set NAB_ROOT to a NAB checkout)`);
  const corpus = readCorpus(root);
  const out: NabScores[] = [];
  for (const [name, detector] of Object.entries(DETECTORS)) {
    const scores = await runDetector(corpus, detector, join(RESULTS, 'work'));
    writeResults(name, corpus, scores);
    out.push(scoreAll(name, corpus, (s) => scores.get(s.name)!));
  }
  for (const ref of ['numenta', 'windowedGaussian']) {
    if (existsSync(join(root, 'reference-results', ref)))
      out.push(scoreAll(`${ref} (published results, rescored)`, corpus, (s) => readResults(join(root, 'reference-results'), ref, s.name)));
  }
  return out;
}

export async function nabBench(): Promise<Row[]> {
  const results = await nabScores();
  const lines = ['| detector | standard | reward low FP | reward low FN |', '|---|---:|---:|---:|'];
  for (const r of results)
    lines.push(
      `| ${r.detector} | ${Object.values(r.profiles)
        .map((p) => p.normalized.toFixed(2))
        .join(' | ')} |`,
    );
  console.error(`NAB scores (${readCorpus(nabRoot()).length} series, ${results[0]!.profiles.standard!.windows} windows):\n${lines.join('\n')}`);
  writeFileSync(join(RESULTS, 'scores.md'), lines.join('\n') + '\n');
  return results.map((r) => ({ scenario: 'nab', name: r.detector, score: r.profiles.standard!.normalized }));
}
