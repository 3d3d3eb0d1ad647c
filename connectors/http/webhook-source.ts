/**
 * `webhook` source: an HTTP ingest endpoint for event deliveries (Stripe, GitHub, a SaaS, your own services).
 * Each POST carries one JSON object, an array of them, or JSON lines; records are decoded in the worker pool.
 * - Signatures: with `secretEnv`, every request must be signed: `stripe` (`Stripe-Signature: t=…,v1=…`, HMAC-SHA256
 *   of "t.body", timestamp within `tolerance` against replays) or `github` (`X-Hub-Signature-256: sha256=…`).
 *   Bad or missing signatures get 401, malformed bodies 400: the sender learns at once, nothing half-accepted.
 * - Acknowledgement: with checkpoints, a request is answered 200 only when the checkpoint covering its records is
 *   complete (every sink committed them). A request not answered — a crash, a stop — is retried by its sender, so
 *   nothing is lost (put `dedupe` on the event id behind it). Without checkpoints, 200 means handed to the pipeline.
 * - Backpressure: beyond `maxPending` unacknowledged records, requests get 503 with Retry-After.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { AbflowError, columnTypeSchema, defineSource, duration, fieldsOf, schemaOf, type SourceOutput, z } from '../../engine/api.js';
import { LINES_SCHEMA, messagesBatch } from '../jsonl/lines.js';

const config = z
  .object({
    host: z.string().default('127.0.0.1').describe('Interface to listen on (0.0.0.0 in a container).'),
    port: z.number().int().min(0).max(65535).default(8088),
    path: z.string().startsWith('/').default('/ingest').describe('Path accepting POSTs.'),
    schema: z.record(z.string(), columnTypeSchema).describe('Columns to read from each JSON record: name → type.'),
    secretEnv: z.string().optional().describe('Environment variable holding the signing secret; unsigned requests are refused when set.'),
    signature: z.enum(['stripe', 'github']).default('stripe').describe('Signature scheme.'),
    tolerance: duration().default(300_000).describe('Stripe scheme: how old a signature timestamp may be.'),
    maxBodyBytes: z
      .number()
      .int()
      .positive()
      .default(1 << 20),
    maxPending: z.number().int().positive().default(100_000).describe('Unacknowledged records at most before requests get 503.'),
    idleExit: duration().optional().describe('End the input after this long without a request (tests, batch-style runs).'),
  })
  .strict();

type Config = z.output<typeof config>;

/** Checks a request's signature; returns the problem, or null when it is valid. */
export function signatureProblem(
  cfg: Pick<Config, 'signature' | 'tolerance'>,
  secret: string,
  headers: IncomingMessage['headers'],
  body: Buffer,
  nowMs: number,
): string | null {
  const equal = (hex: string, expected: Buffer) => {
    const got = Buffer.from(hex, 'hex');
    return got.length === expected.length && timingSafeEqual(got, expected);
  };
  if (cfg.signature === 'github') {
    const h = headers['x-hub-signature-256'];
    if (typeof h !== 'string' || !h.startsWith('sha256=')) return 'missing X-Hub-Signature-256';
    return equal(h.slice(7), createHmac('sha256', secret).update(body).digest()) ? null : 'signature does not match';
  }
  const h = headers['stripe-signature'];
  if (typeof h !== 'string') return 'missing Stripe-Signature';
  const parts = h.split(',').map((p) => p.split('=') as [string, string]);
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  const v1 = parts.filter(([k]) => k === 'v1').map(([, v]) => v);
  if (!Number.isFinite(t) || !v1.length) return 'malformed Stripe-Signature';
  if (Math.abs(nowMs - t * 1000) > cfg.tolerance) return 'signature timestamp outside the tolerance (replayed?)';
  const expected = createHmac('sha256', secret).update(`${t}.`).update(body).digest();
  return v1.some((v) => equal(v, expected)) ? null : 'signature does not match';
}

/** The records of a body: a JSON object, an array of objects, or JSON lines; null when it is none of these. */
export function recordsOf(body: string): string[] | null {
  const text = body.trim();
  if (!text) return [];
  try {
    const v = JSON.parse(text) as unknown;
    if (Array.isArray(v)) return v.every((x) => x && typeof x === 'object' && !Array.isArray(x)) ? v.map((x) => JSON.stringify(x)) : null;
    return v && typeof v === 'object' ? [text] : null;
  } catch {
    const lines = text.split('\n').filter((l) => l.trim());
    try {
      return lines.every((l) => {
        const x = JSON.parse(l) as unknown;
        return x && typeof x === 'object' && !Array.isArray(x);
      })
        ? lines
        : null;
    } catch {
      return null;
    }
  }
}

interface Waiting {
  readonly last: number;
  readonly res: ServerResponse;
  readonly count: number;
}

export const webhookSource = defineSource({
  kind: 'webhook',
  summary: 'HTTP ingest endpoint with Stripe/GitHub signature checks, answering only after the records are checkpointed.',
  config,
  examples: [
    {
      title: 'Stripe events',
      yaml: 'id: stripe_events\nkind: webhook\nconfig:\n  host: 0.0.0.0\n  port: 8088\n  path: /stripe\n  secretEnv: STRIPE_WEBHOOK_SECRET\n  schema: { id: string, type: string, created: int64, data: json }',
    },
  ],
  display: (cfg) => ({ listen: `${cfg.host}:${cfg.port}${cfg.path}`, signature: cfg.secretEnv ? cfg.signature : 'none' }),
  outputSchemas: (cfg) => ({ out: schemaOf(cfg.schema) }),
  decoder: (cfg, outputs) => ({
    kind: 'json_decode',
    config: { schema: Object.fromEntries(fieldsOf(outputs.out!).map((f) => [f.name, f.type])), maxLineBytes: cfg.maxBodyBytes },
    input: LINES_SCHEMA,
  }),
  create(cfg, ctx) {
    const secret = cfg.secretEnv ? process.env[cfg.secretEnv] : undefined;
    if (cfg.secretEnv && !secret)
      throw new AbflowError('config', `webhook '${ctx.nodeId}': environment variable ${cfg.secretEnv} is not set`, { nodeId: ctx.nodeId });
    const queue: string[] = [];
    const waiting: Waiting[] = [];
    let seq = 0;
    let acked = 0;
    let wake: (() => void) | undefined;
    let lastRequest = ctx.clock.now();
    const answer = (res: ServerResponse, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
      if (!res.headersSent) res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    };
    const acknowledge = (upTo: number) => {
      acked = Math.max(acked, upTo);
      while (waiting.length && waiting[0]!.last <= upTo) {
        const w = waiting.shift()!;
        answer(w.res, 200, { accepted: w.count });
        lastRequest = ctx.clock.now(); // idleness counts from the last exchange
      }
    };
    const handle = (req: IncomingMessage, res: ServerResponse) => {
      lastRequest = ctx.clock.now();
      if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://x').pathname !== cfg.path)
        return answer(res, req.method === 'POST' ? 404 : 405, { error: `POST ${cfg.path}` });
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= cfg.maxBodyBytes) chunks.push(c);
      });
      req.on('end', () => {
        if (size > cfg.maxBodyBytes) return answer(res, 413, { error: `body over ${cfg.maxBodyBytes} bytes` });
        const body = Buffer.concat(chunks);
        if (secret) {
          const problem = signatureProblem(cfg, secret, req.headers, body, ctx.clock.now());
          if (problem) return answer(res, 401, { error: problem });
        }
        const records = recordsOf(body.toString('utf8'));
        if (!records) return answer(res, 400, { error: 'body is not a JSON object, an array of objects, or JSON lines' });
        if (seq - acked + records.length > cfg.maxPending) return answer(res, 503, { error: 'busy' }, { 'retry-after': '1' });
        if (!records.length) return answer(res, 200, { accepted: 0 });
        queue.push(...records);
        seq += records.length;
        waiting.push({ last: seq, res, count: records.length });
        wake?.();
      });
    };
    return {
      describePosition: (p) => `request record ${p}`,
      async *read(): AsyncGenerator<SourceOutput> {
        const server = createServer(handle);
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(cfg.port, cfg.host, resolve);
        });
        let emitted = 0;
        try {
          for (;;) {
            if (!queue.length) {
              if (cfg.idleExit !== undefined && ctx.clock.now() - lastRequest >= cfg.idleExit && !waiting.length) return;
              await new Promise<void>((r) => {
                wake = r;
                setTimeout(r, Math.min(ctx.lingerMs, 200));
              });
              wake = undefined;
              // An idle source still yields its position, so checkpoints (and with them the answers) keep coming.
              yield { batch: messagesBatch([], []), resumeAfter: { upTo: emitted } };
              continue;
            }
            const take = queue.splice(0, ctx.batchSize);
            const positions = Float64Array.from(take, (_, i) => emitted + i + 1);
            emitted += take.length;
            yield {
              batch: messagesBatch(
                take,
                take.map((r) => Buffer.byteLength(r)),
              ),
              positions,
              resumeAfter: { upTo: emitted },
            };
            if (!ctx.checkpointing) acknowledge(emitted);
          }
        } finally {
          // Unanswered requests are refused so that their senders retry: nothing is lost in a stop.
          for (const w of waiting.splice(0)) answer(w.res, 503, { error: 'shutting down' }, { 'retry-after': '5' });
          server.closeAllConnections();
          await new Promise((r) => server.close(r));
        }
      },
      committed(at) {
        acknowledge((at as { upTo: number } | null)?.upTo ?? 0);
      },
    };
  },
});
