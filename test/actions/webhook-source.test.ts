/**
 * The webhook source: Stripe and GitHub signatures checked (bad, missing and replayed ones refused with 401,
 * malformed bodies with 400), and a request answered 200 only after its records are in a completed checkpoint.
 */
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { signatureProblem, recordsOf } from '../../connectors/http/webhook-source.js';
import { tempDir } from '../kit/cli.js';
import { runText, type Rows } from '../kit/run.js';

const SECRET = 'whsec_test';
const sign = (body: string, t = Math.floor(Date.now() / 1000)) => `t=${t},v1=${createHmac('sha256', SECRET).update(`${t}.${body}`).digest('hex')}`;

describe('signatures and bodies', () => {
  const cfg = { signature: 'stripe' as const, tolerance: 300_000 };
  it('Stripe: valid, wrong secret, tampered body, replayed timestamp (at the tolerance edge), missing', () => {
    const body = Buffer.from('{"id":"evt_1"}');
    const now = 1_700_000_000_000; // the receiving side's processing time, injected
    const t = now / 1000;
    expect(signatureProblem(cfg, SECRET, { 'stripe-signature': sign(body.toString(), t) }, body, now)).toBeNull();
    expect(signatureProblem(cfg, 'other', { 'stripe-signature': sign(body.toString(), t) }, body, now)).toMatch(/does not match/);
    expect(signatureProblem(cfg, SECRET, { 'stripe-signature': sign(body.toString(), t) }, Buffer.from('{"id":"evt_2"}'), now)).toMatch(/does not match/);
    expect(signatureProblem(cfg, SECRET, { 'stripe-signature': sign(body.toString(), t - 300) }, body, now)).toBeNull();
    expect(signatureProblem(cfg, SECRET, { 'stripe-signature': sign(body.toString(), t - 301) }, body, now)).toMatch(/tolerance/);
    expect(signatureProblem(cfg, SECRET, {}, body, now)).toMatch(/missing/);
  });
  it('GitHub: X-Hub-Signature-256', () => {
    const body = Buffer.from('{"zen":"x"}');
    const h = 'sha256=' + createHmac('sha256', SECRET).update(body).digest('hex');
    expect(signatureProblem({ signature: 'github', tolerance: 0 }, SECRET, { 'x-hub-signature-256': h }, body, 0)).toBeNull();
    expect(signatureProblem({ signature: 'github', tolerance: 0 }, SECRET, { 'x-hub-signature-256': 'sha256=00' }, body, 0)).toMatch(/does not match/);
  });
  it('bodies: an object, an array of objects, JSON lines; anything else is refused', () => {
    expect(recordsOf('{"a":1}')).toEqual(['{"a":1}']);
    expect(recordsOf('[{"a":1},{"a":2}]')).toEqual(['{"a":1}', '{"a":2}']);
    expect(recordsOf('{"a":1}\n{"a":2}\n')).toEqual(['{"a":1}', '{"a":2}']);
    for (const bad of ['[1,2]', '"x"', '{"a":', '{"a":1}\nnope']) expect(recordsOf(bad)).toBeNull();
  });
});

describe('webhook source in a plan', () => {
  it('answers 200 only once the request’s records are checkpointed; refuses bad signatures and bodies', async () => {
    process.env.TEST_WEBHOOK_SECRET = SECRET;
    const port = 20000 + (process.pid % 20000);
    const dir = tempDir('abflow-webhook-src-');
    const store = new Map<string, Rows>();
    const job = runText(
      `
name: ingest
engine: { checkpoint: { interval: 300ms, path: ${join(dir, 'cp.duckdb')} } }
sources:
  - { id: events, kind: webhook, config: { port: ${port}, path: /stripe, secretEnv: TEST_WEBHOOK_SECRET, schema: { id: string, amount: int64 }, idleExit: 2s } }
sinks:
  - { id: got, kind: collect, inputs: [events] }
`,
      [],
      store,
    );
    const url = `http://127.0.0.1:${port}/stripe`;
    const post = async (body: string, signature?: string) => {
      for (let i = 0; ; i++) {
        try {
          return await fetch(url, { method: 'POST', body, headers: signature ? { 'stripe-signature': signature } : {} });
        } catch (e) {
          if (i > 50) throw e; // the server is still starting
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    const body = JSON.stringify([
      { id: 'evt_1', amount: 5 },
      { id: 'evt_2', amount: 7 },
    ]);
    const started = Date.now();
    const ok = await post(body, sign(body));
    const seenAtAnswer = (store.get('got') ?? []).map((r) => r.id);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ accepted: 2 });
    expect(seenAtAnswer).toEqual(['evt_1', 'evt_2']); // committed to the sink before the answer
    expect(Date.now() - started).toBeGreaterThan(50);
    const tampered = sign(body).replace(/v1=(.)/, (_, c: string) => `v1=${c === '0' ? '1' : '0'}`); // a different first hex digit
    expect((await post(body, tampered)).status).toBe(401);
    expect((await post(body)).status).toBe(401);
    const bad = '{"id": "evt_3",';
    expect((await post(bad, sign(bad))).status).toBe(400);
    const { result } = await job;
    expect(result.rowsIn).toBe(2);
  }, 60_000);
});
