/**
 * Online anomaly detectors for one numeric series: pure state machines (plain data, structured-clone safe, so keyed
 * state checkpoints as is). Each step sees one value and returns a score in [0, 1] that rises with anomaly strength
 * and does not saturate: NAB's threshold sweep ranks scores, and a score that rounds to 1.0 for every strong anomaly
 * cannot rank them (shared/spec/ai.md §1.6).
 *
 * `novelty` (the default) borrows CAD-OSE's idea that an anomaly is a *new context*: values are quantised into bins
 * and the detector counts how often it has seen the last 1…order bins as a pattern; a pattern seen c times scores
 * 1/(1 + c). That catches level shifts, new shapes and changed rhythm that a z-score misses, and forgets nothing
 * that recurs. A continuous deviation term (EWMA z, as z/(z+10)) breaks ties between equally novel points. Unlike
 * NAB's own harness the bins never see the future: the bin width is calibrated on the first `calibration[0]` values,
 * recalibrated as the history doubles up to `calibration[1]` (replaying the kept history into fresh counts), and
 * fixed from then on. Values beyond the calibrated range fall into new bins, which is itself novel.
 *
 * `ewma_z` is the classic baseline: |x − EWMA mean| / EWMA σ, as z/(z+10).
 */

export interface NoveltySettings {
  readonly levels: number;
  readonly order: number;
  readonly calibration: readonly [number, number];
  readonly deviationWeight: number;
  readonly alpha: number;
  readonly maxPatterns: number;
}

export type DetectorSettings = ({ readonly kind: 'novelty' } & NoveltySettings) | { readonly kind: 'ewma_z'; readonly alpha: number };

interface Ewma {
  mean: number;
  variance: number;
  started: boolean;
}

export interface DetectorState {
  readonly ewma: Ewma;
  /** Values kept until the last calibration. */
  history: number[] | null;
  nextCalibration: number;
  low: number;
  width: number;
  /** The last `order` bins, newest last. */
  recent: number[];
  /** Per pattern length, pattern → times seen. */
  patterns: Map<string, number>[];
  seen: number;
}

export function newDetectorState(s: DetectorSettings): DetectorState {
  const novelty = s.kind === 'novelty';
  return {
    ewma: { mean: 0, variance: 0, started: false },
    history: novelty ? [] : null,
    nextCalibration: novelty ? s.calibration[0] : Infinity,
    low: 0,
    width: 0,
    recent: [],
    patterns: novelty ? Array.from({ length: s.order }, () => new Map<string, number>()) : [],
    seen: 0,
  };
}

/** Scores `x` and learns it. */
export function detect(state: DetectorState, s: DetectorSettings, x: number): number {
  const z = deviation(state.ewma, x, s.alpha);
  const dev = z / (z + 10);
  if (s.kind === 'ewma_z') return dev;
  const novelty = state.width > 0 ? observe(state, s, x) : 0;
  state.seen++;
  if (state.history) {
    state.history.push(x);
    if (state.seen === state.nextCalibration) calibrate(state, s);
  }
  return (1 - s.deviationWeight) * novelty + s.deviationWeight * dev;
}

function deviation(e: Ewma, x: number, alpha: number): number {
  if (!e.started) {
    e.mean = x;
    e.started = true;
    return 0;
  }
  const sd = Math.sqrt(e.variance);
  const z = sd > 0 ? Math.abs(x - e.mean) / sd : 0;
  const d = x - e.mean;
  e.mean += alpha * d;
  e.variance = (1 - alpha) * (e.variance + alpha * d * d);
  return z;
}

function calibrate(state: DetectorState, s: NoveltySettings): void {
  const h = state.history!;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of h) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  state.low = lo;
  // A constant history has no range: fall back to a scale from its magnitude so a later change still shows.
  state.width = hi > lo ? (hi - lo) / s.levels : Math.abs(lo) / s.levels || 1;
  state.recent = [];
  state.patterns = Array.from({ length: s.order }, () => new Map<string, number>());
  for (const v of h) observe(state, s, v);
  const next = state.nextCalibration * 2;
  if (next <= s.calibration[1]) state.nextCalibration = next;
  else {
    state.history = null;
    state.nextCalibration = Infinity;
  }
}

function observe(state: DetectorState, s: NoveltySettings, x: number): number {
  const recent = state.recent;
  recent.push(Math.floor((x - state.low) / state.width));
  if (recent.length > s.order) recent.shift();
  let novelty = 0;
  let key = '';
  for (let k = 1; k <= recent.length; k++) {
    key = k === 1 ? String(recent[recent.length - 1]) : `${recent[recent.length - k]},${key}`;
    const seen = state.patterns[k - 1]!;
    const c = seen.get(key) ?? 0;
    novelty += 1 / (1 + c);
    seen.set(key, c + 1);
    if (seen.size > s.maxPatterns) decay(seen);
  }
  return novelty / s.order;
}

/** Bounds memory on an endlessly drifting series: halve every count and forget patterns that reach zero. */
function decay(seen: Map<string, number>): void {
  for (const [k, c] of seen) {
    if (c < 2) seen.delete(k);
    else seen.set(k, c >> 1);
  }
}
