/**
 * The persistent response cache of `llm_enrich`, in DuckDB: key = hash(model, prompt version, rendered prompt), so a
 * replay after recovery, a retried Airbyte sync or an update with unchanged text reuses the answer instead of
 * calling (and paying) again, and gets the same answer (LLM output is not deterministic; Flink refuses CDC input
 * to ML_PREDICT for that reason). Entries are written as answers arrive, not at checkpoints: an answer is worth
 * keeping even if the records it belongs to are replayed.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { duckdbInstance } from '../../../connectors/duckdb/instance.js';

export class ResponseCache {
  private writes: Promise<void> = Promise.resolve();

  private constructor(private readonly conn: DuckDBConnection) {}

  static async open(path: string): Promise<ResponseCache> {
    const conn = await (await duckdbInstance(path)).connect();
    await conn.run('CREATE TABLE IF NOT EXISTS abflow_llm_cache (key VARCHAR PRIMARY KEY, model VARCHAR, prompt_version VARCHAR, response VARCHAR, created_at TIMESTAMPTZ DEFAULT now())');
    return new ResponseCache(conn);
  }

  async getMany(keys: readonly string[]): Promise<Map<string, unknown>> {
    const out = new Map<string, unknown>();
    if (!keys.length) return out;
    await this.writes; // a key answered earlier in this run must be found
    const list = keys.map((k) => `'${k}'`).join(','); // keys are hex digests
    const r = await this.conn.runAndReadAll(`SELECT key, response FROM abflow_llm_cache WHERE key IN (${list})`);
    for (const [k, v] of r.getRows()) out.set(String(k), JSON.parse(String(v)));
    return out;
  }

  /** Queues a write; writes are serialised, and `getMany` waits for them. */
  put(key: string, model: string, promptVersion: string, response: unknown): Promise<void> {
    this.writes = this.writes.then(async () => {
      const stmt = await this.conn.prepare('INSERT OR IGNORE INTO abflow_llm_cache (key, model, prompt_version, response) VALUES ($1, $2, $3, $4)');
      stmt.bindVarchar(1, key);
      stmt.bindVarchar(2, model);
      stmt.bindVarchar(3, promptVersion);
      stmt.bindVarchar(4, JSON.stringify(response));
      await stmt.run();
    });
    return this.writes;
  }

  async close(): Promise<void> {
    await this.writes;
    this.conn.closeSync();
  }
}
