/**
 * The persistent response cache of `llm_enrich`, in DuckDB: key = hash(model, prompt version, rendered prompt), so a
 * replay after recovery, a retried Airbyte sync or an update with unchanged text reuses the answer instead of
 * calling (and paying) again, and gets the same answer (LLM output is not deterministic; Flink refuses CDC input
 * to ML_PREDICT for that reason). Entries are written as answers arrive, not at checkpoints: an answer is worth
 * keeping even if the records it belongs to are replayed.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { duckdbConnect } from '../../../engine/api.js';

interface Entry {
  readonly key: string;
  readonly model: string;
  readonly promptVersion: string;
  readonly response: string;
}

export class ResponseCache {
  private pending: Entry[] = [];
  private flushing: Promise<void> | null = null;

  private constructor(private readonly conn: DuckDBConnection) {}

  static async open(path: string): Promise<ResponseCache> {
    const conn = await duckdbConnect(path);
    await conn.run(
      'CREATE TABLE IF NOT EXISTS abflow_llm_cache (key VARCHAR PRIMARY KEY, model VARCHAR, prompt_version VARCHAR, response VARCHAR, created_at TIMESTAMPTZ DEFAULT now())',
    );
    return new ResponseCache(conn);
  }

  async getMany(keys: readonly string[]): Promise<Map<string, unknown>> {
    const out = new Map<string, unknown>();
    if (!keys.length) return out;
    await this.drain(); // a key answered earlier in this run must be found
    const list = keys.map((k) => `'${k}'`).join(','); // keys are hex digests
    const r = await this.conn.runAndReadAll(`SELECT key, response FROM abflow_llm_cache WHERE key IN (${list})`);
    for (const [k, v] of r.getRows()) out.set(String(k), JSON.parse(String(v)));
    return out;
  }

  /** Queues an answer. Writes are group-committed: while one INSERT runs, new answers gather for the next, so an
   * answer is durable within one insert of arriving (a crash loses at most those) at one statement per group. */
  put(key: string, model: string, promptVersion: string, response: unknown): void {
    this.pending.push({ key, model, promptVersion, response: JSON.stringify(response) });
    this.flushing ??= this.flush();
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending.length) {
        const group = this.pending.splice(0, 500);
        const stmt = await this.conn.prepare(
          `INSERT OR IGNORE INTO abflow_llm_cache (key, model, prompt_version, response) VALUES ${group.map((_, i) => `($${4 * i + 1}, $${4 * i + 2}, $${4 * i + 3}, $${4 * i + 4})`).join(', ')}`,
        );
        group.forEach((e, i) => {
          stmt.bindVarchar(4 * i + 1, e.key);
          stmt.bindVarchar(4 * i + 2, e.model);
          stmt.bindVarchar(4 * i + 3, e.promptVersion);
          stmt.bindVarchar(4 * i + 4, e.response);
        });
        await stmt.run();
      }
    } finally {
      this.flushing = null;
    }
  }

  /** Waits until every queued answer is written. */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  async close(): Promise<void> {
    await this.drain();
    this.conn.closeSync();
  }
}
