/**
 * `llm_enrich`: asks an OpenAI-compatible chat model about each record and adds its structured answer as typed
 * columns. Built so that the model can never stop or corrupt the raw flow:
 * - every answer is validated against the plan's JSON schema; anything else is a failed attempt;
 * - retries with exponential backoff (full jitter) honour Retry-After on 429/5xx, inside a total timeout per request
 *   that covers every retry (Flink's async I/O timeout);
 * - a circuit breaker stops calling a failing endpoint for a cool-down; meanwhile records take the failure policy
 *   at once, so data keeps moving;
 * - the failure policy is per plan: `dead_letter` (the record goes to `dead_letter` with a reason code),
 *   `null_with_error` (passes with null outputs and an error column) or `fail` (the job fails);
 * - answers are cached in DuckDB by (model, prompt version, rendered prompt), so replays after recovery and repeated
 *   inputs are not sent again;
 * - `shadow: true` only logs decisions to `audit` and passes records unchanged.
 * It runs on the coordinating thread (`single`): the work is waiting on the network, and one instance holds the
 * concurrency cap, the breaker and the cache for the whole job. Each batch's requests run `concurrency` at a time
 * and the batch is emitted in input order when all are settled, so output order, checkpoint barriers and watermarks
 * behave as in Flink's ordered async I/O: nothing overtakes a record still in flight, and a checkpoint never has
 * requests in flight to remember.
 */
import {
  AbflowError,
  backoffMs,
  cellValue,
  CircuitBreaker,
  lazyRequire,
  parseRetryAfter,
  type RetryPolicy,
  ColumnBuilder,
  compileTemplate,
  render,
  columnData,
  defineOperator,
  duration,
  Field,
  makeBatch,
  type RecordBatch,
  Schema,
  takeBatch,
  toArrowType,
  z,
} from '../../engine/api.js';
import { auditBatch, auditConfig, auditedSchemas, auditPorts, audits, type Decision } from './shadow.js';
import { ResponseCache } from './llm/cache.js';
import { batchMessage, batchSchema, digest, outputColumns, outputValidator } from './llm/prompt.js';

const openai = lazyRequire<typeof import('openai')>(import.meta.url, 'openai');

const config = z
  .object({
    model: z.string().min(1).describe('Model name sent to the endpoint.'),
    baseURL: z
      .string()
      .url()
      .optional()
      .describe('OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 (default: $OPENAI_BASE_URL, else api.openai.com).'),
    apiKeyEnv: z.string().min(1).default('OPENAI_API_KEY').describe('Environment variable holding the API key (never put keys in plans).'),
    system: z.string().optional().describe('System message.'),
    prompt: z.string().min(1).describe('User message template; `{{column}}` inserts a field of the record.'),
    promptVersion: z
      .string()
      .min(1)
      .optional()
      .describe('Version stamped on outputs and part of the cache key (default: a digest of system, prompt and output schema).'),
    output: z
      .record(z.string(), z.unknown())
      .describe('JSON schema of the answer: an object whose properties become columns (string, integer, number, boolean; others as JSON).'),
    recordsPerRequest: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(1)
      .describe('Records per request; above 1 the answer is {"results": [...]} with one item per record.'),
    concurrency: z.number().int().min(1).max(1000).default(8).describe('Requests in flight at most (LLM endpoints rate-limit; small is safer).'),
    timeout: duration().default(120_000).describe('Total time per request including retries; then the failure policy applies.'),
    attemptTimeout: duration().default(30_000).describe('Time per attempt.'),
    retry: z
      .object({
        maxAttempts: z.number().int().min(1).max(100).default(4),
        initialDelay: duration().default(1000),
        maxDelay: duration().default(30_000),
        multiplier: z.number().min(1).default(2),
      })
      .strict()
      .default({ maxAttempts: 4, initialDelay: 1000, maxDelay: 30_000, multiplier: 2 })
      .describe('Retries of 429, 5xx, timeouts, connection errors and invalid answers.'),
    circuitBreaker: z
      .object({ failures: z.number().int().min(1).default(5), cooldown: duration().default(30_000) })
      .strict()
      .default({ failures: 5, cooldown: 30_000 })
      .describe('Open after this many consecutive failed calls; try again after the cool-down.'),
    onError: z.enum(['dead_letter', 'null_with_error', 'fail']).default('dead_letter').describe('What a record whose enrichment failed becomes.'),
    errorColumn: z.string().min(1).default('_ai_error').describe('With `null_with_error`: the column holding the failure as JSON.'),
    cache: z
      .union([z.literal(false), z.object({ path: z.string().min(1) }).strict()])
      .default({ path: 'out/llm-cache.duckdb' })
      .describe('DuckDB file caching answers by (model, prompt version, prompt); false disables it.'),
    temperature: z.number().min(0).max(2).default(0),
    seed: z.number().int().optional().describe('Sampling seed, where the endpoint supports it.'),
    maxTokens: z.number().int().positive().optional().describe('Answer token limit.'),
    pricing: z
      .object({ inputPerMillion: z.number().nonnegative(), outputPerMillion: z.number().nonnegative() })
      .strict()
      .optional()
      .describe('Price per million tokens, for the cost metric.'),
    ...auditConfig,
  })
  .strict();

type Config = z.infer<typeof config>;

const MODEL_COLUMN = '_ai_model';
const VERSION_COLUMN = '_ai_version';

function compiled(cfg: Config, input: Schema) {
  const system = cfg.system ? compileTemplate(cfg.system, input, ['system']) : undefined;
  const prompt = compileTemplate(cfg.prompt, input, ['prompt']);
  const columns = outputColumns(cfg.output as never, ['output']);
  const validate = outputValidator(cfg.output as never, ['output']);
  const added = [...columns.map((c) => c.name), MODEL_COLUMN, VERSION_COLUMN, ...(cfg.onError === 'null_with_error' ? [cfg.errorColumn] : [])];
  for (const name of added)
    if (input.fields.some((f) => f.name === name))
      throw new AbflowError('config', `output column \`${name}\` already exists in the input`, {
        path: ['output'],
        hint: 'rename the property or drop the input column first',
      });
  const enriched = new Schema([
    ...input.fields,
    ...columns.map((c) => new Field(c.name, toArrowType(c.type), true)),
    new Field(MODEL_COLUMN, toArrowType('string'), true),
    new Field(VERSION_COLUMN, toArrowType('string'), true),
    ...(cfg.onError === 'null_with_error' ? [new Field(cfg.errorColumn, toArrowType('json'), true)] : []),
  ]);
  const version = cfg.promptVersion ?? digest(cfg.system ?? '', cfg.prompt, JSON.stringify(cfg.output)).slice(0, 12);
  return { system, prompt, columns, validate, enriched, version };
}

/** Why a record was not enriched: a stable code first (for dead-letter queries), then the detail. */
interface Failure {
  readonly code: 'rate_limited' | 'server_error' | 'timeout' | 'connection' | 'invalid_output' | 'rejected' | 'circuit_open';
  readonly message: string;
  readonly status?: number;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  attempts?: number;
}

function classify(e: unknown): Failure {
  const { APIConnectionError, APIConnectionTimeoutError, APIError } = openai();
  if (e instanceof InvalidOutput) return { code: 'invalid_output', message: e.message, retryable: true };
  if (e instanceof APIConnectionTimeoutError) return { code: 'timeout', message: 'attempt timed out', retryable: true };
  if (e instanceof APIConnectionError) return { code: 'connection', message: e.message, retryable: true };
  if (e instanceof APIError && e.status !== undefined) {
    const s = e.status;
    const retryAfterMs = parseRetryAfter(e.headers);
    const base = { status: s, message: `HTTP ${s}: ${e.message}`, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
    if (s === 429) return { code: 'rate_limited', retryable: true, ...base };
    if (s >= 500 || s === 408 || s === 409) return { code: 'server_error', retryable: true, ...base };
    return { code: 'rejected', retryable: false, ...base };
  }
  return { code: 'connection', message: (e as Error).message ?? String(e), retryable: true };
}

class InvalidOutput extends Error {}

export const llmEnrich = defineOperator({
  kind: 'llm_enrich',
  summary: 'Enriches records with structured answers from an OpenAI-compatible model, with retries, a circuit breaker, a cache and a failure policy.',
  config,
  execution: 'single',
  deadLetters: true,
  ports: (cfg) => auditPorts(cfg),
  examples: [
    {
      title: 'Classify support tickets',
      yaml: `id: triage\nkind: llm_enrich\ninputs: [tickets]\nconfig:\n  model: gpt-4o-mini\n  system: You triage support tickets. Answer in JSON.\n  prompt: "Subject: {{subject}}\\nBody: {{body}}"\n  output:\n    type: object\n    properties:\n      priority: { type: string, enum: [P0, P1, P2, P3] }\n      root_cause: { type: string }\n    required: [priority, root_cause]\n  concurrency: 4\n  onError: null_with_error`,
    },
  ],
  display: (cfg) => ({
    model: cfg.model,
    concurrency: String(cfg.concurrency),
    onError: cfg.onError,
    cache: cfg.cache ? cfg.cache.path : 'off',
    ...(cfg.shadow ? { shadow: 'yes' } : {}),
  }),
  resources: (cfg) => (cfg.cache ? [{ kind: 'write', path: cfg.cache.path, at: ['cache', 'path'] }] : []),
  outputSchemas: (cfg, [input]) => auditedSchemas(cfg, input!, compiled(cfg, input!).enriched),
  create(cfg, ctx) {
    const input = ctx.inputs[0]!;
    const c = compiled(cfg, input);
    const apiKey = process.env[cfg.apiKeyEnv];
    if (!apiKey)
      throw new AbflowError('config', `llm_enrich: environment variable ${cfg.apiKeyEnv} is not set`, {
        hint: 'export the API key (local OpenAI-compatible servers accept any value), or set `apiKeyEnv`',
        nodeId: ctx.nodeId,
      });
    const client = new (openai().OpenAI)({ apiKey, maxRetries: 0, ...(cfg.baseURL ? { baseURL: cfg.baseURL } : {}) });
    const policy: RetryPolicy = {
      maxAttempts: cfg.retry.maxAttempts,
      initialDelayMs: cfg.retry.initialDelay,
      maxDelayMs: cfg.retry.maxDelay,
      multiplier: cfg.retry.multiplier,
    };
    const breaker = new CircuitBreaker(cfg.circuitBreaker.failures, cfg.circuitBreaker.cooldown, ctx.clock);
    const responseFormat = (n: number) => ({
      type: 'json_schema' as const,
      json_schema: { name: 'output', strict: true, schema: batchSchema(cfg.output as never, n) as Record<string, unknown> },
    });
    let cache: Promise<ResponseCache> | undefined;
    const metrics = {
      requests: 0,
      attempts: 0,
      retries: 0,
      cache_hits: 0,
      enriched: 0,
      failed: 0,
      tokens_in: 0,
      tokens_out: 0,
      cost_usd: 0,
      circuit_opened: 0,
    };

    /** One request for `prompts` (1..recordsPerRequest records): their answers, or the failure. */
    async function ask(prompts: readonly string[], systemText: string | undefined): Promise<{ answers: Record<string, unknown>[] } | { failure: Failure }> {
      metrics.requests++;
      const deadline = ctx.clock.now() + cfg.timeout;
      for (let attempt = 1; ; attempt++) {
        if (!breaker.allow())
          return {
            failure: { code: 'circuit_open', message: 'circuit breaker open: calls paused after repeated failures', retryable: false, attempts: attempt - 1 },
          };
        metrics.attempts++;
        let failure: Failure;
        try {
          const res = await client.chat.completions.create(
            {
              model: cfg.model,
              messages: [...(systemText ? [{ role: 'system' as const, content: systemText }] : []), { role: 'user' as const, content: batchMessage(prompts) }],
              temperature: cfg.temperature,
              response_format: responseFormat(prompts.length),
              ...(cfg.seed !== undefined ? { seed: cfg.seed } : {}),
              ...(cfg.maxTokens !== undefined ? { max_tokens: cfg.maxTokens } : {}),
            },
            { timeout: Math.max(1, Math.min(cfg.attemptTimeout, deadline - ctx.clock.now())) },
          );
          breaker.success(); // the endpoint answered; whether the answer is usable is a separate question
          metrics.tokens_in += res.usage?.prompt_tokens ?? 0;
          metrics.tokens_out += res.usage?.completion_tokens ?? 0;
          if (cfg.pricing)
            metrics.cost_usd +=
              ((res.usage?.prompt_tokens ?? 0) * cfg.pricing.inputPerMillion + (res.usage?.completion_tokens ?? 0) * cfg.pricing.outputPerMillion) / 1e6;
          return { answers: parseAnswers(res.choices[0]?.message?.content, prompts.length) };
        } catch (e) {
          failure = classify(e);
          if (failure.code !== 'invalid_output') {
            breaker.failure();
            metrics.circuit_opened = breaker.opened;
          }
        }
        failure.attempts = attempt;
        if (!failure.retryable || attempt >= policy.maxAttempts) return { failure };
        const wait = backoffMs(attempt, policy, failure.retryAfterMs);
        if (ctx.clock.now() + wait >= deadline)
          return {
            failure: {
              ...failure,
              code: failure.code === 'rate_limited' ? 'rate_limited' : 'timeout',
              message: `${failure.message}; no time left in the ${cfg.timeout} ms timeout for another attempt`,
            },
          };
        metrics.retries++;
        await ctx.clock.sleep(wait);
      }
    }

    function parseAnswers(content: string | null | undefined, n: number): Record<string, unknown>[] {
      let v: unknown;
      try {
        v = JSON.parse(content ?? '');
      } catch {
        throw new InvalidOutput(`answer is not JSON: ${JSON.stringify((content ?? '').slice(0, 80))}`);
      }
      const items = n === 1 ? [v] : (v as { results?: unknown })?.results;
      if (!Array.isArray(items) || items.length !== n) throw new InvalidOutput(`expected {"results": [...]} with ${n} items`);
      return items.map((item) => {
        const r = c.validate(item);
        if (!r.ok) throw new InvalidOutput(`answer does not match the output schema: ${r.error}`);
        return r.value;
      });
    }

    return {
      async processBatch(batch, out) {
        const started = ctx.clock.monotonic();
        cache ??= cfg.cache ? ResponseCache.open(cfg.cache.path) : undefined;
        const store = await cache;
        const n = batch.numRows;
        const columns = new Map(
          [...new Set([...c.prompt.fields, ...(c.system?.fields ?? [])])].map(
            (f) =>
              [
                f,
                columnData(
                  batch,
                  input.fields.findIndex((x) => x.name === f),
                ),
              ] as const,
          ),
        );
        const row = (i: number, fields: readonly string[]) => Object.fromEntries(fields.map((f) => [f, cellValue(columns.get(f)!, i)]));
        const prompts = Array.from({ length: n }, (_, i) => render(c.prompt, row(i, c.prompt.fields)));
        const systems = c.system ? Array.from({ length: n }, (_, i) => render(c.system!, row(i, c.system!.fields))) : undefined;
        const keys = prompts.map((p, i) => digest(cfg.model, c.version, systems?.[i] ?? '', p));
        const answers: (Record<string, unknown> | undefined)[] = new Array(n);
        const failures: (Failure | undefined)[] = new Array(n);
        const cached = store ? await store.getMany([...new Set(keys)]) : new Map<string, unknown>();
        // Identical prompts in a batch (a redelivered record) share one request.
        const todo = new Map<string, number[]>();
        keys.forEach((k, i) => {
          if (cached.has(k)) {
            answers[i] = cached.get(k) as Record<string, unknown>;
            metrics.cache_hits++;
          } else todo.set(k, [...(todo.get(k) ?? []), i]);
        });
        // Records sharing a system message can share a request.
        const groups: string[][] = [];
        const bySystem = new Map<string, string[]>();
        for (const [k, rows] of todo) {
          const s = systems?.[rows[0]!] ?? '';
          const g = bySystem.get(s) ?? [];
          g.push(k);
          if (g.length === cfg.recordsPerRequest) {
            groups.push(g);
            bySystem.delete(s);
          } else bySystem.set(s, g);
        }
        groups.push(...bySystem.values());
        let next = 0;
        const worker = async () => {
          while (next < groups.length) {
            const g = groups[next++]!;
            const first = todo.get(g[0]!)![0]!;
            const r = await ask(
              g.map((k) => prompts[todo.get(k)![0]!]!),
              systems?.[first],
            );
            g.forEach((k, j) => {
              for (const i of todo.get(k)!) {
                if ('answers' in r) answers[i] = r.answers[j];
                else failures[i] = r.failure;
              }
              if ('answers' in r) store?.put(k, cfg.model, c.version, r.answers[j]);
            });
          }
        };
        await Promise.all(Array.from({ length: Math.min(cfg.concurrency, groups.length) }, worker));
        const bad: number[] = [];
        for (let i = 0; i < n; i++) if (failures[i]) bad.push(i);
        metrics.enriched += n - bad.length;
        metrics.failed += bad.length;
        const reason = (f: Failure) => `${f.code}: ${f.message}${f.attempts ? ` (${f.attempts} attempt${f.attempts > 1 ? 's' : ''})` : ''}`;
        if (bad.length && cfg.onError === 'fail') {
          const f = failures[bad[0]!]!;
          throw new AbflowError('operator_failed', `llm_enrich failed on ${bad.length} record(s) (onError: fail): ${reason(f)}`, {
            domain: 'external',
            nodeId: ctx.nodeId,
          });
        }
        if (audits(cfg)) {
          const latencyMs = (ctx.clock.monotonic() - started) / Math.max(1, n);
          const decisions: Decision[] = Array.from({ length: n }, (_, i) => ({ row: i, output: answers[i] ?? { error: reason(failures[i]!) }, latencyMs }));
          out.emit(
            auditBatch(ctx.nodeId, cfg.model, c.version, batch, input, cfg.recordKey ?? [], decisions, ctx.clock.now()),
            'audit',
            Int32Array.from(decisions, (d) => d.row),
          );
        }
        if (cfg.shadow) return out.emit(batch);
        const enriched = withAnswers(batch, answers, failures, reason);
        if (!bad.length || cfg.onError === 'null_with_error') return out.emit(enriched);
        out.deadLetter(
          bad,
          bad.map((i) => `llm_enrich ${reason(failures[i]!)}`),
        );
        const good = Int32Array.from({ length: n }, (_, i) => i).filter((i) => !failures[i]);
        out.emit(takeBatch(enriched, good), 'out', good);
      },
      async close() {
        await (await cache)?.close();
      },
      metrics: () => ({ ...metrics, circuit_open: breaker.state === 'closed' ? 0 : 1 }),
    };

    function withAnswers(
      batch: RecordBatch,
      answers: (Record<string, unknown> | undefined)[],
      failures: (Failure | undefined)[],
      reason: (f: Failure) => string,
    ): RecordBatch {
      const n = batch.numRows;
      const builders = c.columns.map((col) => new ColumnBuilder(col.type, n));
      const model = new ColumnBuilder('string', n);
      const version = new ColumnBuilder('string', n);
      const errors = cfg.onError === 'null_with_error' ? new ColumnBuilder('string', n) : undefined;
      for (let i = 0; i < n; i++) {
        const a = answers[i];
        c.columns.forEach((col, j) => {
          const v = a?.[col.name];
          if (v === undefined || v === null) builders[j]!.appendNull();
          else if (col.type === 'json') builders[j]!.appendString(JSON.stringify(v));
          else if (col.type === 'string') builders[j]!.appendString(String(v));
          else if (col.type === 'bool') builders[j]!.appendBool(Boolean(v));
          else builders[j]!.appendNumber(v as number);
        });
        if (a) {
          model.appendString(cfg.model);
          version.appendString(c.version);
        } else {
          model.appendNull();
          version.appendNull();
        }
        const f = failures[i];
        if (errors) {
          if (f)
            errors.appendString(JSON.stringify({ code: f.code, message: reason(f), ...(f.status ? { status: f.status } : {}), attempts: f.attempts ?? 0 }));
          else errors.appendNull();
        }
      }
      const cols = [...builders, model, version, ...(errors ? [errors] : [])].map((b) => b.finish());
      return makeBatch(c.enriched, [...batch.data.children, ...cols], n);
    }
  },
});
