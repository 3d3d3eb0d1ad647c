import { describe, expect, it } from 'vitest';
import { detect, type DetectorSettings, newDetectorState } from '../../../../operators/ai/detectors.js';

const novelty: DetectorSettings = { kind: 'novelty', levels: 8, order: 3, calibration: [100, 800], deviationWeight: 0.4, alpha: 0.01, maxPatterns: 10_000 };
const wave = (i: number) => Math.sin((2 * Math.PI * i) / 50) * 10 + 50;

describe('online detectors', () => {
  it('a recurring pattern stops scoring; a new level scores high, and a larger departure scores higher (no saturation)', () => {
    const scores = (spike: number) => {
      const s = newDetectorState(novelty);
      for (let i = 0; i < 2000; i++) detect(s, novelty, wave(i));
      return [detect(s, novelty, wave(2000)), detect(s, novelty, spike)];
    };
    const [normal, big] = scores(200);
    const [, huge] = scores(20_000);
    expect(normal).toBeLessThan(0.05);
    expect(big).toBeGreaterThan(0.6);
    expect(huge).toBeGreaterThan(big!);
    expect(huge).toBeLessThan(1);
  });
  it('never looks ahead: the first values score before any calibration, and the bins come only from the past', () => {
    const s = newDetectorState(novelty);
    expect(detect(s, novelty, 5)).toBe(0);
    for (let i = 1; i < 99; i++) detect(s, novelty, i % 7);
    expect(s.width).toBe(0);
    detect(s, novelty, 3);
    expect(s.width).toBeCloseTo(6 / 8);
  });
  it('state survives a structured clone (a checkpoint) mid-stream with identical scores after it', () => {
    const a = newDetectorState(novelty);
    for (let i = 0; i < 500; i++) detect(a, novelty, wave(i) + (i % 13));
    const b = structuredClone(a);
    for (let i = 500; i < 1500; i++) expect(detect(b, novelty, wave(i) + (i % 17))).toBe(detect(a, novelty, wave(i) + (i % 17)));
  });
  it('pattern memory stays bounded on a series that never repeats', () => {
    const small = { ...novelty, maxPatterns: 64 };
    const s = newDetectorState(small);
    for (let i = 0; i < 5000; i++) detect(s, small, i * 1.7);
    for (const m of s.patterns) expect(m.size).toBeLessThanOrEqual(65);
  });
  it('ewma_z is the classic z-score, as z / (z + 10)', () => {
    const e: DetectorSettings = { kind: 'ewma_z', alpha: 0.5 };
    const s = newDetectorState(e);
    expect(detect(s, e, 10)).toBe(0);
    expect(detect(s, e, 10)).toBe(0);
    detect(s, e, 12); // mean 11, variance 0.5·(0 + 0.5·4) = 1
    const z = Math.abs(20 - 11) / 1;
    expect(detect(s, e, 20)).toBeCloseTo(z / (z + 10), 12);
  });
});
