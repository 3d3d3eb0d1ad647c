/**
 * NAB: the scorer port against the published detectors' results (shared/spec/ai.md §1.3, "The NAB subset"), its
 * sweep rules on small hand-made cases, and the built-in detector run through the engine over the NAB subset.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCorpus, readResults } from '../../native-bench/nab/corpus.js';
import { PROFILES, probationOf, scaledSigmoid, scoreCorpus, type ScoredFile } from '../../native-bench/nab/score.js';
import { runDetector } from '../../native-bench/nab.js';
import { HAS_SHARED, SHARED } from '../kit/cli.js';

const NAB = join(SHARED, 'fixtures/nab');

function rescored(detector: string) {
  const corpus = readCorpus(NAB);
  const files = corpus.map((s) => ({
    name: s.name,
    timestamps: s.timestamps,
    windows: s.windows,
    scores: readResults(join(NAB, 'reference-results'), detector, s.name),
  }));
  return Object.fromEntries(Object.entries(PROFILES).map(([p, prof]) => [p, Number(scoreCorpus(files, prof).normalized.toFixed(2))]));
}

describe.skipIf(!HAS_SHARED)('NAB scorer reproduces the published results on the subset', () => {
  it('numenta HTM: 69.52 / 62.88 / 74.02', () => {
    expect(rescored('numenta')).toEqual({ standard: 69.52, reward_low_FP_rate: 62.88, reward_low_FN_rate: 74.02 });
  });
  it('windowedGaussian: 37.70 / 32.72 / 40.86', () => {
    expect(rescored('windowedGaussian')).toEqual({ standard: 37.7, reward_low_FP_rate: 32.72, reward_low_FN_rate: 40.86 });
  });
});

/** A synthetic series of `n` rows, one minute apart, with the given windows as row ranges. */
function series(n: number, windows: [number, number][], scores: (i: number) => number): ScoredFile {
  const timestamps = Array.from({ length: n }, (_, i) => new Date(Date.UTC(2020, 0, 1, 0, i)).toISOString().slice(0, 19).replace('T', ' '));
  return {
    name: 'synthetic.csv',
    timestamps,
    scores: Float64Array.from({ length: n }, (_, i) => scores(i)),
    windows: windows.map(([a, b]) => [timestamps[a]! + '.000000', timestamps[b]!]),
  };
}

describe('NAB sweep rules', () => {
  const p = PROFILES.standard;
  it('probation: 15 % of the rows, at most 750', () => {
    expect(probationOf(1000)).toBe(150);
    expect(probationOf(100_000)).toBe(750);
  });
  it('a detection on the first row of a window is worth exactly tpWeight: a perfect detector scores 100', () => {
    const r = scoreCorpus(
      [
        series(
          1000,
          [
            [400, 449],
            [700, 749],
          ],
          (i) => (i === 400 || i === 700 ? 1 : 0),
        ),
      ],
      p,
    );
    expect(r.raw).toBeCloseTo(2, 12);
    expect(r.normalized).toBeCloseTo(100, 10);
  });
  it('the null detector scores 0, every window a false negative', () => {
    const r = scoreCorpus([series(1000, [[400, 449]], () => 0)], p);
    expect(r.normalized).toBeCloseTo(0, 10);
  });
  it('later detections in a window are worth less; only the earliest counts', () => {
    const early = scoreCorpus([series(1000, [[400, 449]], (i) => (i === 410 ? 1 : 0))], p).raw;
    const late = scoreCorpus([series(1000, [[400, 449]], (i) => (i === 440 ? 1 : 0))], p).raw;
    const both = scoreCorpus([series(1000, [[400, 449]], (i) => (i === 410 || i === 440 ? 1 : 0))], p).raw;
    expect(early).toBeGreaterThan(late);
    expect(both).toBeCloseTo(early, 12);
    expect(late).toBeCloseTo((scaledSigmoid(-(449 - 440 + 1) / 50) * p.tpWeight) / scaledSigmoid(-1), 12);
  });
  it('a false positive before any window costs fpWeight; right after a window it costs less', () => {
    const before = scoreCorpus([series(1000, [[600, 649]], (i) => (i === 300 || i === 600 ? 1 : 0))], p).raw;
    expect(before).toBeCloseTo(1 - p.fpWeight, 12);
    const after = scoreCorpus([series(1000, [[400, 449]], (i) => (i === 400 || i === 452 ? 1 : 0))], p).raw;
    expect(after - 1).toBeCloseTo(scaledSigmoid(3 / 49) * p.fpWeight, 12);
    expect(after - 1).toBeGreaterThan(-p.fpWeight);
  });
  it('rows in probation are ignored, however they score', () => {
    const r = scoreCorpus([series(1000, [[400, 449]], (i) => (i < 150 || i === 400 ? 1 : 0))], p);
    expect(r.raw).toBeCloseTo(1, 12);
  });
  it('the threshold is optimised over the corpus: one threshold for every file', () => {
    const a = series(1000, [[400, 449]], (i) => (i === 400 ? 0.9 : i === 800 ? 0.5 : 0));
    const b = series(1000, [[400, 449]], (i) => (i === 400 ? 0.6 : 0));
    const r = scoreCorpus([a, b], p);
    expect(r.threshold).toBe(0.6);
    expect(r.files.map((f) => [f.tp, f.fp, f.fn])).toEqual([
      [1, 0, 0],
      [1, 0, 0],
    ]);
  });
});

describe.skipIf(!HAS_SHARED)('anomaly_detect on the NAB subset, through the engine', () => {
  it('the default detector scores ≥ 61.3 (standard profile), above Random Cut Forest’s 61.26', async () => {
    const corpus = readCorpus(NAB);
    const scores = await runDetector(corpus, { kind: 'novelty' }, mkdtempSync(join(tmpdir(), 'abflow-nab-')));
    const files = corpus.map((s) => ({ name: s.name, timestamps: s.timestamps, windows: s.windows, scores: scores.get(s.name)! }));
    for (const s of scores.values()) for (const v of s) expect(v >= 0 && v <= 1).toBe(true);
    const standard = scoreCorpus(files, PROFILES.standard).normalized;
    expect(standard).toBeGreaterThanOrEqual(61.3);
    // The classic baseline, on the same run path, stays far below: the test can tell a good detector from a bad one.
    const ewma = await runDetector(corpus, { kind: 'ewma_z' }, mkdtempSync(join(tmpdir(), 'abflow-nab-')));
    expect(
      scoreCorpus(
        corpus.map((s) => ({ ...s, scores: ewma.get(s.name)! })),
        PROFILES.standard,
      ).normalized,
    ).toBeLessThan(standard - 15);
  }, 120_000);
});
