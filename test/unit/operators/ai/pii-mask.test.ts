/** `pii_mask` through the operator harness: mask, keyed hash and drop per kind, the report column, config checks. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { operatorHarness } from '../../../../engine/testing.js';
import { piiMask } from '../../../../operators/ai/pii-mask.js';

const input = { id: 'int64', body: 'string', note: 'string' } as const;
const row = { id: 1, body: 'mail ann@example.com or call +1 415 555 0100', note: 'card 4111 1111 1111 1111' };

describe('pii_mask', () => {
  beforeEach(() => {
    process.env.ABFLOW_TEST_SALT = 'pepper';
  });
  afterEach(() => {
    delete process.env.ABFLOW_TEST_SALT;
  });

  it('masks every kind in every string column by default, and reports the kinds found', async () => {
    const h = operatorHarness(piiMask, { report: 'pii_found' }, input);
    await h.push([row, { id: 2, body: 'nothing here', note: null }]);
    const [a, b] = h.rows();
    expect(a!.body).toBe('mail [EMAIL] or call [PHONE]');
    expect(a!.note).toBe('card [CARD]');
    expect(JSON.parse(String(a!.pii_found)).sort()).toEqual(['card', 'email', 'phone']);
    expect(b).toEqual({ id: 2, body: 'nothing here', note: null, pii_found: '[]' });
  });

  it('hashes with the salt (same value, same hash) and drops a whole value where told', async () => {
    const h = operatorHarness(piiMask, { columns: ['body', 'note'], action: 'hash', actions: { card: 'drop' }, saltEnv: 'ABFLOW_TEST_SALT' }, input);
    await h.push([row, { ...row, id: 2 }]);
    const [a, b] = h.rows();
    expect(a!.body).toMatch(/^mail \[EMAIL:[0-9a-f]+\] or call \[PHONE:[0-9a-f]+\]$/);
    expect(b!.body).toBe(a!.body);
    expect(a!.note).toBeNull();
    expect(String(a!.body)).not.toContain('ann@example.com');
  });

  it('scans only the columns named, and refuses non-string ones and a taken report name', async () => {
    const h = operatorHarness(piiMask, { columns: ['note'] }, input);
    await h.push([row]);
    expect(h.rows()[0]!.body).toBe(row.body);
    expect(() => operatorHarness(piiMask, { columns: ['id'] }, input)).toThrow(/`id` is not a string column/);
    expect(() => operatorHarness(piiMask, { report: 'note' }, input)).toThrow(/column `note` already exists/);
  });
});
