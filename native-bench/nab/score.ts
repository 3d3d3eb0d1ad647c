/**
 * A TypeScript port of the Numenta Anomaly Benchmark's scoring (numenta/NAB `nab/sweeper.py`, `optimizer.py`,
 * `runner.py` at ea702d75), as specified in shared/spec/ai.md §1.3: per-row sweep scores from the label windows, one
 * threshold optimised over the whole corpus, and the score normalised between the null and the perfect detector.
 * Pure functions; the harness (nab.ts) feeds them files and a detector's per-row scores.
 */

export interface CostProfile {
  readonly tpWeight: number;
  readonly fnWeight: number;
  readonly fpWeight: number;
}

export const PROFILES: Readonly<Record<'standard' | 'reward_low_FP_rate' | 'reward_low_FN_rate', CostProfile>> = {
  standard: { tpWeight: 1, fnWeight: 1, fpWeight: 0.11 },
  reward_low_FP_rate: { tpWeight: 1, fnWeight: 1, fpWeight: 0.22 },
  reward_low_FN_rate: { tpWeight: 1, fnWeight: 2, fpWeight: 0.11 },
};

export interface ScoredFile {
  readonly name: string;
  /** Row timestamps as in the data file (`YYYY-MM-DD HH:MM:SS`). */
  readonly timestamps: readonly string[];
  /** The detector's anomaly score per row, in [0, 1]. */
  readonly scores: ArrayLike<number>;
  /** Label windows as [start, end] timestamps (NAB writes them with `.000000`). */
  readonly windows: readonly (readonly [string, string])[];
}

/** A row's contribution when it is a detection: `window` is its window's corpus-wide id, or -1 outside any window. */
interface SweepRow {
  readonly score: number;
  readonly sweep: number;
  readonly window: number;
  readonly file: number;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
/** NAB's `scaledSigmoid`: 1 at the window start, falling to −1 far past it. */
export const scaledSigmoid = (y: number) => (y > 3 ? -1 : 2 * sigmoid(-5 * y) - 1);
const MAX_TP = scaledSigmoid(-1);

/** NAB's probationary period (`nab/util.py` getProbationPeriod with 15 %): rows ignored by scoring. */
export function probationOf(rows: number): number {
  return Math.min(Math.floor(0.15 * rows), 0.15 * 5000);
}

/** Step A (`calcSweepScore`): the value of detecting each scored row, and the window it belongs to. */
function sweepRows(f: ScoredFile, fileIndex: number, firstWindow: number, p: CostProfile): SweepRow[] {
  const ts = f.timestamps.map((t) => t.slice(0, 19));
  const index = new Map(ts.map((t, i) => [t, i]));
  const limits = f.windows.map(([a, b], w) => {
    const start = index.get(a.slice(0, 19));
    const end = index.get(b.slice(0, 19));
    if (start === undefined || end === undefined) throw new Error(`${f.name}: window ${a} … ${b} does not match row timestamps`);
    return { start, end, id: firstWindow + w };
  });
  const probation = probationOf(ts.length);
  const out: SweepRow[] = [];
  let next = 0;
  let cur: { start: number; end: number; id: number } | undefined;
  let prevRight = -1;
  let prevWidth = 0;
  for (let i = 0; i < ts.length; i++) {
    if (!cur && next < limits.length && i === limits[next]!.start) cur = limits[next++];
    let sweep: number;
    let window = -1;
    if (cur) {
      const width = cur.end - cur.start + 1;
      sweep = (scaledSigmoid(-(cur.end - i + 1) / width) * p.tpWeight) / MAX_TP;
      window = cur.id;
    } else if (prevRight < 0) sweep = -p.fpWeight;
    // NAB divides by width − 1 after a window but by width inside one (numenta/NAB#366); kept for fidelity.
    else sweep = scaledSigmoid(Math.abs(prevRight - i) / (prevWidth - 1)) * p.fpWeight;
    if (i >= probation) out.push({ score: Number(f.scores[i]), sweep, window, file: fileIndex });
    if (cur && i === cur.end) {
      prevRight = i;
      prevWidth = cur.end - cur.start + 1;
      cur = undefined;
    }
  }
  return out;
}

export interface FileScore {
  readonly name: string;
  readonly score: number;
  readonly tp: number;
  readonly fp: number;
  readonly fn: number;
}

export interface CorpusScore {
  readonly profile: CostProfile;
  readonly threshold: number;
  /** Sum of the files' raw scores at the threshold. */
  readonly raw: number;
  /** 100 × (raw − null) / (perfect − null): perfect = 100, null detector = 0. */
  readonly normalized: number;
  readonly windows: number;
  readonly files: readonly FileScore[];
}

/** Steps B–D: sweep every threshold over the corpus, keep the best, and normalise. */
export function scoreCorpus(files: readonly ScoredFile[], profile: CostProfile): CorpusScore {
  const rows: SweepRow[] = [];
  let windows = 0;
  files.forEach((f, i) => {
    rows.push(...sweepRows(f, i, windows, profile));
    windows += f.windows.length;
  });
  // Step B: descending by score, stable (Python's sort); the total at threshold t counts every row with score ≥ t.
  const order = rows.map((_, i) => i).sort((a, b) => rows[b]!.score - rows[a]!.score || a - b);
  const best = new Float64Array(windows).fill(-profile.fnWeight);
  let fp = 0;
  // Only windows with scored rows count (NAB builds its parts from the non-probationary rows).
  let windowSum = -profile.fnWeight * new Set(rows.filter((r) => r.window >= 0).map((r) => r.window)).size;
  let curT = 1.1;
  let bestT = curT;
  let bestTotal = -Infinity;
  const consider = () => {
    const total = fp + windowSum;
    // Python's max keeps the first maximum; compare at 12 decimals so summation order cannot pick another one.
    if (Number(total.toFixed(12)) > Number(bestTotal.toFixed(12))) [bestTotal, bestT] = [total, curT];
  };
  for (const i of order) {
    const r = rows[i]!;
    if (r.score !== curT) {
      consider();
      curT = r.score;
    }
    if (r.window >= 0) {
      if (r.sweep > best[r.window]!) {
        windowSum += r.sweep - best[r.window]!;
        best[r.window] = r.sweep;
      }
    } else fp += r.sweep;
  }
  consider();
  const perFile = files.map((f, i) =>
    fileScore(
      f.name,
      rows.filter((r) => r.file === i),
      bestT,
      profile,
    ),
  );
  const raw = perFile.reduce((s, f) => s + f.score, 0);
  const nullScore = -windows * profile.fnWeight;
  const perfect = windows * profile.tpWeight;
  return { profile, threshold: bestT, raw, normalized: (100 * (raw - nullScore)) / (perfect - nullScore), windows, files: perFile };
}

/** One file's score when every row scoring ≥ `threshold` is a detection (NAB's scoreDataSet). */
function fileScore(name: string, rows: readonly SweepRow[], threshold: number, p: CostProfile): FileScore {
  const best = new Map<number, number>();
  const seen = new Set<number>();
  let fp = 0;
  let fpCount = 0;
  for (const r of rows) {
    if (r.window >= 0) {
      seen.add(r.window);
      if (r.score >= threshold) best.set(r.window, Math.max(best.get(r.window) ?? -Infinity, r.sweep));
    } else if (r.score >= threshold) {
      fp += r.sweep;
      fpCount++;
    }
  }
  let score = fp;
  for (const w of seen) score += best.get(w) ?? -p.fnWeight;
  return { name, score, tp: best.size, fp: fpCount, fn: seen.size - best.size };
}
