/**
 * `approval_queue` sink: actions that need a human's go-ahead (a refund, a customer email, a write-back the model
 * proposed). Each row becomes a pending action in a DuckDB or PostgreSQL table — its id is the action's idempotency
 * key, so replays insert nothing twice — and fires (an HTTP request, as `webhook`/`http_writeback` send them) only
 * once someone sets `approved = true`; `approved = false` rejects it. Approve with SQL:
 *
 *   UPDATE approvals SET approved = true, decided_by = 'alice' WHERE id = '…';
 *
 * While the job runs, the sink polls for decisions every `pollInterval` (PostgreSQL can be updated concurrently;
 * a DuckDB file is locked by the running job, so decide while it is stopped); `abflow approvals fire PLAN` fires
 * approved actions at any time, e.g. from cron. Outcomes are written back: `status` fired | rejected | failed, with
 * `fired_at` and `error`. A failed action does not fail the job: it stays in the table with its error.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { defineSink, duckdbConnect, duration, type Schema, z, pgClientConfig, pgConnectionConfig, pgLib, quoteIdent, quoteLiteral } from '../../engine/api.js';
import { deliveryConfig, HttpDelivery, type HttpRequest, RequestTemplate, requestHeaders } from './delivery.js';

const config = z
  .object({
    database: z
      .union([z.object({ duckdb: z.string().min(1) }).strict(), z.object({ postgres: z.object(pgConnectionConfig).strict() }).strict()])
      .describe('Where the queue lives: { duckdb: path } or { postgres: { url | urlEnv } }.'),
    table: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/)
      .default('approvals')
      .describe('Queue table ([schema.]name), created if missing.'),
    url: z.string().optional().describe('URL template of the action (or urlEnv).'),
    urlEnv: z.string().optional().describe('Environment variable holding the action URL (not stored in the table).'),
    method: z.enum(['POST', 'PATCH', 'PUT']).default('POST'),
    body: z.unknown().optional().describe('JSON body template (default: the row).'),
    pollInterval: duration().default(5000).describe('How often the running job looks for decisions.'),
    ...deliveryConfig,
  })
  .strict()
  .refine((c) => (c.url === undefined) !== (c.urlEnv === undefined), { message: 'give exactly one of `url` and `urlEnv`', path: ['url'] });

export type ApprovalConfig = z.output<typeof config>;

interface Store {
  run(sql: string): Promise<void>;
  rows(sql: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

async function openStore(cfg: ApprovalConfig, nodeId: string): Promise<Store> {
  if ('duckdb' in cfg.database) {
    const c: DuckDBConnection = await duckdbConnect(cfg.database.duckdb);
    return {
      run: async (sql) => void (await c.run(sql)),
      rows: async (sql) => (await c.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[],
      close: async () => c.closeSync(),
    };
  }
  const client = new (pgLib().Client)(pgClientConfig(cfg.database.postgres, `abflow ${nodeId}`));
  await client.connect();
  return {
    run: async (sql) => void (await client.query(sql)),
    rows: async (sql) => (await client.query(sql)).rows as Record<string, unknown>[],
    close: () => client.end(),
  };
}

const tableName = (t: string) => t.split('.').map(quoteIdent).join('.');

/** The queue of one approval sink: enqueue rows, apply decisions. */
export class ApprovalQueue {
  private readonly delivery: HttpDelivery;
  private readonly table: string;

  private constructor(
    private readonly cfg: ApprovalConfig,
    private readonly store: Store,
    private readonly nodeId: string,
  ) {
    this.table = tableName(cfg.table);
    this.delivery = new HttpDelivery(cfg, `approval_queue '${nodeId}'`);
  }

  static async open(cfg: ApprovalConfig, nodeId: string): Promise<ApprovalQueue> {
    const store = await openStore(cfg, nodeId);
    await store.run(`CREATE TABLE IF NOT EXISTS ${tableName(cfg.table)} (id VARCHAR PRIMARY KEY, action VARCHAR NOT NULL, method VARCHAR NOT NULL, url VARCHAR, body VARCHAR NOT NULL,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now(), approved BOOLEAN, decided_by VARCHAR, status VARCHAR NOT NULL DEFAULT 'pending', fired_at TIMESTAMPTZ, error VARCHAR)`);
    return new ApprovalQueue(cfg, store, nodeId);
  }

  /** Inserts pending actions; an id already queued (a replay) is left as it is. */
  async enqueue(reqs: readonly HttpRequest[]): Promise<void> {
    for (let i = 0; i < reqs.length; i += 500) {
      const values = reqs
        .slice(i, i + 500)
        .map(
          (r) =>
            `(${quoteLiteral(r.key)}, ${quoteLiteral(this.nodeId)}, ${quoteLiteral(r.method)}, ${this.cfg.urlEnv ? 'NULL' : quoteLiteral(r.url)}, ${quoteLiteral(JSON.stringify(r.body))})`,
        )
        .join(', ');
      await this.store.run(`INSERT INTO ${this.table} (id, action, method, url, body) VALUES ${values} ON CONFLICT (id) DO NOTHING`);
    }
  }

  /** Rejects what was declined and fires what was approved; returns how many fired. */
  async decide(): Promise<{ fired: number; failed: number; rejected: number }> {
    const rejected = await this.store.rows(
      `UPDATE ${this.table} SET status = 'rejected' WHERE action = ${quoteLiteral(this.nodeId)} AND approved = false AND status = 'pending' RETURNING id`,
    );
    const due = await this.store.rows(
      `SELECT id, method, url, body FROM ${this.table} WHERE action = ${quoteLiteral(this.nodeId)} AND approved = true AND status = 'pending' ORDER BY created_at, id`,
    );
    let fired = 0;
    let failed = 0;
    const url = this.cfg.urlEnv ? process.env[this.cfg.urlEnv] : undefined;
    for (const row of due) {
      const template = (this.cfg.urlEnv ? url : String(row.url)) ?? '';
      const req: HttpRequest = {
        key: String(row.id),
        method: String(row.method),
        url: template,
        body: JSON.parse(String(row.body)),
        headers: requestHeaders(this.cfg, String(row.id)),
      };
      try {
        if (!template) throw new Error(`environment variable ${this.cfg.urlEnv} is not set`);
        await this.delivery.send(req);
        await this.store.run(`UPDATE ${this.table} SET status = 'fired', fired_at = now(), error = NULL WHERE id = ${quoteLiteral(req.key)}`);
        fired++;
      } catch (e) {
        await this.store.run(`UPDATE ${this.table} SET status = 'failed', error = ${quoteLiteral((e as Error).message)} WHERE id = ${quoteLiteral(req.key)}`);
        failed++;
      }
    }
    return { fired, failed, rejected: rejected.length };
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

function template(cfg: ApprovalConfig, input: Schema): RequestTemplate {
  // With urlEnv the URL is a secret: it is not rendered into the table, only looked up when the action fires.
  return new RequestTemplate(cfg.url ?? 'urlEnv', cfg.method, cfg.body, cfg, input);
}

export const approvalQueueSink = defineSink({
  kind: 'approval_queue',
  summary: 'Queues each row as an action in a DuckDB/PostgreSQL table; it fires (HTTP) only after someone approves it.',
  config,
  examples: [
    {
      title: 'Refunds the model proposes wait for a human',
      yaml: `id: refund_approvals\nkind: approval_queue\ninputs: [proposed_refunds]\nconfig:\n  database: { postgres: { urlEnv: OPS_DB_URL } }\n  table: ops.refund_approvals\n  url: https://payments.example.com/api/refunds\n  body: { payment_id: "{{payment_id}}", amount: "{{amount}}", reason: "{{reason}}" }\n  idempotencyKey: "refund-{{payment_id}}"\n  headersFromEnv: { Authorization: PAYMENTS_API_TOKEN }`,
    },
  ],
  display: (cfg) => ({ table: cfg.table, database: 'duckdb' in cfg.database ? cfg.database.duckdb : 'postgres', method: cfg.method }),
  resources: (cfg) => ('duckdb' in cfg.database ? [{ kind: 'write', path: cfg.database.duckdb, at: ['database', 'duckdb'] }] : []),
  check(cfg, [input]) {
    void template(cfg, input!);
  },
  create(cfg, ctx) {
    const t = template(cfg, ctx.inputs[0]!);
    let queue: ApprovalQueue | undefined;
    let timer: NodeJS.Timeout | undefined;
    let deciding: Promise<unknown> = Promise.resolve();
    // A failed poll (the database briefly away) is reported and retried at the next interval.
    const poll = () =>
      (deciding = deciding.then(() => queue?.decide()).catch((e: Error) => process.stderr.write(`warning: approval_queue '${ctx.nodeId}': ${e.message}\n`)));
    return {
      async open() {
        queue = await ApprovalQueue.open(cfg, ctx.nodeId);
        timer = setInterval(poll, cfg.pollInterval);
        timer.unref();
      },
      write: async (batch) => queue!.enqueue(t.requests(batch, ctx.nodeId)),
      async close() {
        clearInterval(timer);
        await poll();
        await queue?.close();
      },
      async abort() {
        clearInterval(timer);
        await deciding;
        await queue?.close();
      },
    };
  },
});
