/**
 * HTTP delivery shared by the `webhook` and `http_writeback` sinks: requests rendered from rows, sent `concurrency`
 * at a time under an optional rate limit, retried with backoff (Retry-After wins) on connection errors, timeouts,
 * 408, 425, 429 and 5xx. Each request carries an idempotency key derived from its row, so a retry or a replay after
 * recovery is recognisable by the receiver (Stripe's `Idempotency-Key` convention): delivery is at least once, the
 * effect exactly once at receivers that honour the key. A request that still fails after its retries fails the job
 * (with checkpoints, the rows are sent again from the last checkpoint on restart) — nothing is dropped.
 */
import { createHash } from 'node:crypto';
import {
  AbflowError,
  type Clock,
  systemClock,
  backoffMs,
  compileJsonTemplate,
  compileTemplate,
  duration,
  type JsonTemplate,
  parseRetryAfter,
  RateLimiter,
  type RecordBatch,
  render,
  rowObject,
  type Schema,
  type Template,
  z,
} from '../../engine/api.js';

export const deliveryConfig = {
  headers: z.record(z.string(), z.string()).default({}).describe('Extra headers (values are templates).'),
  headersFromEnv: z
    .record(z.string(), z.string())
    .default({})
    .describe('Headers whose values come from environment variables (secrets), e.g. { Authorization: HOOK_TOKEN }.'),
  idempotencyKey: z.string().optional().describe('Template of the idempotency key (default: a digest of the row).'),
  idempotencyHeader: z.string().default('Idempotency-Key'),
  concurrency: z.number().int().min(1).max(256).default(4).describe('Requests in flight at most.'),
  rateLimit: z
    .object({ perSecond: z.number().positive(), burst: z.number().int().positive().optional() })
    .strict()
    .optional()
    .describe('Requests per second at most (token bucket).'),
  timeout: duration().default(10_000).describe('Time per attempt.'),
  retry: z
    .object({ maxAttempts: z.number().int().min(1).max(100).default(8), initialDelay: duration().default(500), maxDelay: duration().default(30_000) })
    .strict()
    .default({ maxAttempts: 8, initialDelay: 500, maxDelay: 30_000 }),
};

export interface DeliveryConfig {
  headers: Record<string, string>;
  headersFromEnv: Record<string, string>;
  idempotencyKey?: string | undefined;
  idempotencyHeader: string;
  concurrency: number;
  rateLimit?: { perSecond: number; burst?: number | undefined } | undefined;
  timeout: number;
  retry: { maxAttempts: number; initialDelay: number; maxDelay: number };
}

export interface HttpRequest {
  readonly url: string;
  readonly method: string;
  readonly body: unknown;
  readonly key: string;
  readonly headers: Record<string, string>;
}

/** Checks templates against the input schema at plan compile time and renders requests from rows. */
export class RequestTemplate {
  private readonly url: Template;
  private readonly body: JsonTemplate;
  private readonly key: Template | undefined;
  private readonly headers: [string, Template][];

  constructor(
    url: string,
    private readonly method: string,
    body: unknown,
    private readonly cfg: DeliveryConfig,
    input: Schema,
  ) {
    this.url = compileTemplate(url, input, ['url']);
    this.body = body === undefined ? (row) => row : compileJsonTemplate(body, input, ['body'], new Set());
    this.key = cfg.idempotencyKey ? compileTemplate(cfg.idempotencyKey, input, ['idempotencyKey']) : undefined;
    this.headers = Object.entries(cfg.headers).map(([k, v]) => [k, compileTemplate(v, input, ['headers', k])]);
  }

  /** At job start (not at compile time, so plans validate without their secrets): the header secrets are set. */
  checkEnv(nodeId: string): void {
    for (const [h, env] of Object.entries(this.cfg.headersFromEnv))
      if (process.env[env] === undefined) throw new AbflowError('config', `'${nodeId}': environment variable ${env} (header ${h}) is not set`, { nodeId });
  }

  request(row: Record<string, unknown>, scope: string): HttpRequest {
    const body = this.body(row);
    const key = this.key ? render(this.key, row) : createHash('sha256').update(scope).update('\u0000').update(jsonText(row)).digest('hex');
    const headers = requestHeaders(this.cfg, key, Object.fromEntries(this.headers.map(([k, t]) => [k, render(t, row)])));
    return { url: render(this.url, row), method: this.method, body, key, headers };
  }

  requests(batch: RecordBatch, scope: string): HttpRequest[] {
    return Array.from({ length: batch.numRows }, (_, i) => this.request(rowObject(batch, i), scope));
  }
}

/** Headers of a request: JSON, its idempotency key, rendered template headers, and the secrets from the environment
 * (read when sent, never stored). */
export function requestHeaders(
  cfg: Pick<DeliveryConfig, 'idempotencyHeader' | 'headersFromEnv'>,
  key: string,
  rendered: Record<string, string> = {},
): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', [cfg.idempotencyHeader]: key, ...rendered };
  for (const [k, env] of Object.entries(cfg.headersFromEnv)) headers[k] = process.env[env] ?? '';
  return headers;
}

const jsonText = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));

const RETRYABLE = new Set([408, 425, 429]);

export class HttpDelivery {
  private readonly limiter: RateLimiter | undefined;
  sent = 0;
  attempts = 0;

  constructor(
    private readonly cfg: DeliveryConfig,
    private readonly name: string,
    private readonly clock: Clock = systemClock,
  ) {
    this.limiter = cfg.rateLimit ? new RateLimiter(cfg.rateLimit.perSecond, cfg.rateLimit.burst, clock) : undefined;
  }

  /** Sends every request (concurrency-limited); throws, naming the request, if one fails after its retries. */
  async sendAll(reqs: readonly HttpRequest[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < reqs.length) await this.send(reqs[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(this.cfg.concurrency, reqs.length) }, worker));
  }

  async send(r: HttpRequest): Promise<void> {
    const policy = { maxAttempts: this.cfg.retry.maxAttempts, initialDelayMs: this.cfg.retry.initialDelay, maxDelayMs: this.cfg.retry.maxDelay, multiplier: 2 };
    for (let attempt = 1; ; attempt++) {
      await this.limiter?.take();
      this.attempts++;
      let problem: string;
      let retryAfter: number | undefined;
      try {
        const res = await fetch(r.url, { method: r.method, headers: r.headers, body: jsonText(r.body), signal: AbortSignal.timeout(this.cfg.timeout) });
        await res.arrayBuffer().catch(() => undefined); // drain, so the connection is reused
        if (res.ok) {
          this.sent++;
          return;
        }
        problem = `HTTP ${res.status} ${res.statusText}`;
        if (!RETRYABLE.has(res.status) && res.status < 500)
          throw new AbflowError('sink_io', `${this.name}: ${r.method} ${redact(r.url)} was refused: ${problem} (not retried)`, { domain: 'external' });
        retryAfter = parseRetryAfter(res.headers);
      } catch (e) {
        if (e instanceof AbflowError) throw e;
        problem =
          (e as Error).name === 'TimeoutError'
            ? `no answer within ${this.cfg.timeout} ms`
            : ((e as Error & { cause?: Error }).cause?.message ?? (e as Error).message);
      }
      if (attempt >= policy.maxAttempts)
        throw new AbflowError('sink_io', `${this.name}: ${r.method} ${redact(r.url)} failed after ${attempt} attempts: ${problem}`, { domain: 'external' });
      await this.clock.sleep(backoffMs(attempt, policy, retryAfter));
    }
  }
}

/** URLs can hold secrets (Slack webhook paths, tokens in query strings): keep only scheme, host and the path's start. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname.length > 12 ? u.pathname.slice(0, 12) + '…' : u.pathname}`;
  } catch {
    return '<invalid url>';
  }
}
