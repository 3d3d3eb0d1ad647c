/**
 * @module state/store
 * The checkpoint store: one DuckDB file per job (the only engine module that touches DuckDB). A checkpoint is written
 * in one transaction — present and complete, or absent. Every state blob carries a SHA-256, so a damaged checkpoint
 * is detected on restore and the previous complete one is used instead, with a message saying so.
 */
import { createHash } from 'node:crypto';
import { deserialize, serialize } from 'node:v8';
import type { DuckDBConnection } from '@duckdb/node-api';
import { duckdbConnect } from '../duckdb.js';

export interface StateBlob {
  /** Vertex id (source, chain, keyed operator, sink). */
  readonly vertex: string;
  /** Partition of a keyed vertex; 0 otherwise. */
  readonly part: number;
  /** What the vertex was when it wrote this (kind + config + input schemas): a changed plan cannot misread it. */
  readonly fingerprint: string;
  readonly value: unknown;
}

export interface CheckpointMeta {
  readonly id: number;
  readonly createdAt: string;
  readonly durationMs: number;
  readonly bytes: number;
  readonly parallelism: number;
  readonly finished: boolean;
  readonly perVertexBytes: Readonly<Record<string, number>>;
}

export interface Checkpoint extends CheckpointMeta {
  readonly states: readonly StateBlob[];
}

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS checkpoints (id BIGINT PRIMARY KEY, created_at TIMESTAMPTZ, duration_ms DOUBLE, bytes BIGINT, parallelism INTEGER, finished BOOLEAN)`,
  `CREATE TABLE IF NOT EXISTS checkpoint_state (checkpoint_id BIGINT, vertex VARCHAR, part INTEGER, fingerprint VARCHAR, sha256 VARCHAR, data BLOB)`,
];

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

export class CheckpointStore {
  private constructor(
    readonly path: string,
    private readonly conn: DuckDBConnection,
  ) {}

  static async open(path: string): Promise<CheckpointStore> {
    const conn = await duckdbConnect(path);
    for (const s of SCHEMA) await conn.run(s);
    return new CheckpointStore(path, conn);
  }

  async write(cp: { id: number; durationMs: number; parallelism: number; finished: boolean; states: readonly StateBlob[] }, keep: number): Promise<number> {
    const blobs = cp.states.map((s) => ({ s, data: serialize(s.value) }));
    const bytes = blobs.reduce((n, b) => n + b.data.length, 0);
    await this.conn.run('BEGIN TRANSACTION');
    try {
      await this.conn.run('INSERT INTO checkpoints VALUES ($1, now(), $2, $3, $4, $5)', [cp.id, cp.durationMs, bytes, cp.parallelism, cp.finished]);
      const insert = await this.conn.prepare('INSERT INTO checkpoint_state VALUES ($1, $2, $3, $4, $5, $6)');
      for (const { s, data } of blobs) {
        insert.bindBigInt(1, BigInt(cp.id));
        insert.bindVarchar(2, s.vertex);
        insert.bindInteger(3, s.part);
        insert.bindVarchar(4, s.fingerprint);
        insert.bindVarchar(5, sha256(data));
        insert.bindBlob(6, new Uint8Array(data));
        await insert.run();
      }
      // Keep the newest `keep` checkpoints.
      await this.conn.run('DELETE FROM checkpoint_state WHERE checkpoint_id NOT IN (SELECT id FROM checkpoints ORDER BY id DESC LIMIT $1)', [keep]);
      await this.conn.run('DELETE FROM checkpoints WHERE id NOT IN (SELECT id FROM checkpoints ORDER BY id DESC LIMIT $1)', [keep]);
      await this.conn.run('COMMIT');
    } catch (e) {
      await this.conn.run('ROLLBACK').catch(() => undefined);
      throw e;
    }
    return bytes;
  }

  async list(): Promise<CheckpointMeta[]> {
    const r = await this.conn.runAndReadAll(
      `SELECT c.id, c.created_at::VARCHAR AS created_at, c.duration_ms, c.bytes, c.parallelism, c.finished,
              list(struct_pack(vertex := s.vertex, bytes := octet_length(s.data))) AS parts
       FROM checkpoints c LEFT JOIN checkpoint_state s ON s.checkpoint_id = c.id GROUP BY ALL ORDER BY c.id DESC`,
    );
    return r.getRowObjectsJson().map((row) => {
      const per: Record<string, number> = {};
      for (const p of (row.parts as { vertex: string | null; bytes: string | number | null }[]) ?? [])
        if (p.vertex) per[p.vertex] = (per[p.vertex] ?? 0) + Number(p.bytes);
      return {
        id: Number(row.id),
        createdAt: String(row.created_at),
        durationMs: Number(row.duration_ms),
        bytes: Number(row.bytes),
        parallelism: Number(row.parallelism),
        finished: row.finished === true,
        perVertexBytes: per,
      };
    });
  }

  /** Loads a checkpoint, verifying every blob; throws with the reason when it is damaged. */
  async load(id: number): Promise<Checkpoint> {
    const meta = (await this.list()).find((c) => c.id === id);
    if (!meta) throw new Error(`checkpoint ${id} does not exist`);
    const r = await this.conn.runAndRead('SELECT vertex, part, fingerprint, sha256, data FROM checkpoint_state WHERE checkpoint_id = $1', [id]);
    await r.readAll();
    const states: StateBlob[] = [];
    for (const row of r.getRows()) {
      const [vertex, part, fingerprint, digest, data] = row as [string, number, string, string, { bytes: Uint8Array }];
      const bytes = data.bytes;
      if (sha256(bytes) !== digest) throw new Error(`the state of \`${vertex}\` (part ${part}) is damaged: checksum mismatch (${bytes.length} bytes)`);
      let value: unknown;
      try {
        value = deserialize(bytes);
      } catch (e) {
        throw new Error(`the state of \`${vertex}\` (part ${part}) cannot be read: ${(e as Error).message}`);
      }
      states.push({ vertex, part, fingerprint, value });
    }
    return { ...meta, states };
  }

  /** The newest checkpoint that loads cleanly, and a note for each newer one that did not. */
  async latestUsable(): Promise<{ checkpoint: Checkpoint | null; skipped: string[] }> {
    const skipped: string[] = [];
    for (const meta of await this.list()) {
      try {
        return { checkpoint: await this.load(meta.id), skipped };
      } catch (e) {
        skipped.push(`checkpoint ${meta.id} is unusable (${(e as Error).message})`);
      }
    }
    return { checkpoint: null, skipped };
  }

  async reset(): Promise<void> {
    await this.conn.run('DELETE FROM checkpoint_state');
    await this.conn.run('DELETE FROM checkpoints');
  }

  close(): void {
    this.conn.closeSync();
  }
}
