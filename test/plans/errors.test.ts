/**
 * Every broken plan in test/plans/errors/ names what it expects in its header:
 *   # expect-error: <substring of the message>
 *   # expect-hint:  <substring of the hint>        (optional)
 *   # expect-at:    <line>:<column>
 * `abflow validate` must print the message at that place and exit with code 2.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { abflow, ROOT } from '../kit/cli.js';

const dir = join(ROOT, 'test/plans/errors');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

function header(text: string, key: string): string | undefined {
  return new RegExp(`^# ${key}: (.*)$`, 'm').exec(text)?.[1];
}

describe('abflow validate on broken plans', () => {
  it('has at least one plan per error kind', () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
  });

  it.each(files)('%s', (file) => {
    const text = readFileSync(join(dir, file), 'utf8');
    const error = header(text, 'expect-error')!;
    const at = header(text, 'expect-at')!;
    const hint = header(text, 'expect-hint');
    expect(error, 'expect-error header').toBeTruthy();
    const r = abflow(['validate', `test/plans/errors/${file}`]);
    expect(r.code).toBe(2);
    const line = r.stderr.split('\n').find((l) => l.includes(error));
    expect(line, r.stderr).toBeDefined();
    expect(line).toContain(`test/plans/errors/${file}:${at}:`);
    if (hint) expect(r.stderr).toContain(hint);
  });

  it('accepts the shipped plans', () => {
    for (const plan of ['plans/payments.yaml']) {
      const r = abflow(['validate', plan]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
  });
});
