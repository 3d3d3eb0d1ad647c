/** Reads the NAB corpus layout (data/<category>/<file>.csv, labels/combined_windows.json) and NAB results files. */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface NabSeries {
  /** `<category>/<file>.csv`, as in combined_windows.json. */
  readonly name: string;
  readonly timestamps: string[];
  readonly values: Float64Array;
  readonly windows: (readonly [string, string])[];
}

export function readCorpus(root: string): NabSeries[] {
  const labels = JSON.parse(readFileSync(join(root, 'labels/combined_windows.json'), 'utf8')) as Record<string, [string, string][]>;
  return Object.keys(labels)
    .sort()
    .filter((name) => existsSync(join(root, 'data', name)))
    .map((name) => {
      const lines = readFileSync(join(root, 'data', name), 'utf8')
        .trim()
        .split('\n')
        .slice(1);
      const timestamps = lines.map((l) => l.slice(0, l.indexOf(',')));
      const values = Float64Array.from(lines, (l) => Number(l.slice(l.indexOf(',') + 1)));
      return { name, timestamps, values, windows: labels[name]! };
    });
}

/** A detector's scores for one series from NAB's results layout: `<detector>/<category>/<detector>_<file>.csv`. */
export function readResults(dir: string, detector: string, name: string): Float64Array {
  const file = join(dir, detector, dirname(name), `${detector}_${basename(name)}`);
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const col = lines[0]!.split(',').indexOf('anomaly_score');
  return Float64Array.from(lines.slice(1), (l) => Number(l.split(',')[col]));
}
