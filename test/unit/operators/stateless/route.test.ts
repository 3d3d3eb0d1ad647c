/** `route` through the operator harness: the first true predicate wins, unmatched rows go to the default port. */
import { describe, expect, it } from 'vitest';
import { operatorHarness } from '../../../../engine/testing.js';
import { route } from '../../../../operators/stateless/route.js';

const input = { id: 'int64', amount: 'float64', status: 'string' } as const;

describe('route', () => {
  it('sends each row to exactly one port: the first route whose predicate is true, else the default', async () => {
    const h = operatorHarness(route, { routes: { failed: "status = 'failed'", large: 'amount >= 1000' }, default: 'normal' }, input);
    expect(Object.keys(h.outputs).sort()).toEqual(['failed', 'large', 'normal']);
    await h.push([
      { id: 1, amount: 5_000, status: 'failed' },
      { id: 2, amount: 5_000, status: 'settled' },
      { id: 3, amount: 10, status: 'settled' },
      { id: 4, amount: null, status: null },
    ]);
    expect(h.rows('failed').map((r) => r.id)).toEqual([1]);
    expect(h.rows('large').map((r) => r.id)).toEqual([2]);
    expect(h.rows('normal').map((r) => r.id)).toEqual([3, 4]);
  });

  it('refuses port names that are not identifiers', () => {
    expect(() => operatorHarness(route, { routes: { 'bad name': 'amount > 1' } }, input)).toThrow(
      'routes.bad name: invalid name "bad name": output names use letters, digits, _ and -',
    );
  });
});
