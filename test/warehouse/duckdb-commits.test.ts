/**
 * The duckdb sink's commits, driven the way the engine drives a sink (write, preCommit at a barrier, commit once the
 * checkpoint completes, close or abort), and read from a second connection, which sees committed rows only. Runs whose
 * staged rows need not outlive a crash (commit points only, or no checkpoints) append straight into the table inside
 * a transaction per commit (connectors/warehouse/direct.ts); the others stage first (staged.ts). Both must give each
 * commit exactly the rows written before its barrier, in one transaction, and leave the table alone when a run fails.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { batchFromRows, type RecordBatch, schemaOf } from '../../engine/api.js';
import type { Sink } from '../../engine/operator.js';
import { duckdb } from '../../connectors/duckdb/sink.js';
import { duckdbConnect } from '../../engine/duckdb.js';
import { EpochTransactions, type TransactionLoader } from '../../connectors/warehouse/direct.js';
import { systemClock } from '../../engine/time/clock.js';

const dir = mkdtempSync(join(tmpdir(), 'abflow-duckdb-commits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const schema = schemaOf({ id: 'int64', note: 'string' });
const batch = (from: number, to: number) =>
  batchFromRows(
    schema,
    Array.from({ length: to - from + 1 }, (_, k) => ({ id: BigInt(from + k), note: `row ${from + k}` })),
  );

/** Staging tables of the sink's database (a durable stage, or the transient one in the attached in-memory catalog). */
async function stages(path: string): Promise<number> {
  const conn = await duckdbConnect(path);
  try {
    return Number((await conn.runAndReadAll(`SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '_abflow_stage_%'`)).getRows()[0]![0]);
  } finally {
    conn.closeSync();
  }
}

/** Committed ids in `table` and the sink's latest commit record, as another client of the database sees them. */
async function committed(path: string, table = 't'): Promise<{ ids: number[]; epoch: number }> {
  const conn = await duckdbConnect(path);
  try {
    const ids = (await conn.runAndReadAll(`SELECT id FROM ${table} ORDER BY id`)).getRows().map((r) => Number(r[0]));
    const epoch = Number((await conn.runAndReadAll(`SELECT coalesce(max(epoch), -1) FROM _abflow_commits WHERE sink = 'out'`)).getRows()[0]![0]);
    return { ids, epoch };
  } finally {
    conn.closeSync();
  }
}

function sink(path: string, config: Record<string, unknown>, durable: boolean | null): Sink {
  return duckdb.create(duckdb.config.parse({ path, table: 't', ...config }), {
    nodeId: 'out',
    job: 'commits',
    clock: systemClock,
    inputs: [schema],
    ...(durable === null ? {} : { checkpointing: { resumeFrom: null, lastComplete: null, firstId: 1, durable } }),
  });
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => from + k);

describe('duckdb sink commits', () => {
  // Commit points only (Airbyte STATEs): direct appends. Durable checkpoints: the stage. The same contract.
  it.each([
    ['commit points (direct appends)', false],
    ['durable checkpoints (staged)', true],
  ] as const)('%s: each commit holds exactly the rows before its barrier; a late commit covers every epoch up to it', async (_, durable) => {
    const path = join(dir, `epochs-${durable}.duckdb`);
    const out = sink(path, { mode: 'append' }, durable);
    await out.open!();
    expect(await stages(path)).toBe(durable ? 1 : 0);
    await out.write(batch(1, 3), 0);
    await out.preCommit!(1);
    await out.write(batch(4, 5), 0); // epoch 2, written while checkpoint 1 is not complete
    expect(await committed(path)).toEqual({ ids: [], epoch: -1 });
    await out.commit!(1, []);
    expect(await committed(path)).toEqual({ ids: range(1, 3), epoch: 1 });
    await out.preCommit!(2);
    await out.write(batch(6, 8), 0);
    await out.preCommit!(3);
    await out.write(batch(9, 9), 0); // epoch 4
    // Checkpoint 2's completion was not seen: 3's covers both, in one transaction, without epoch 4.
    await out.commit!(3, []);
    expect(await committed(path)).toEqual({ ids: range(1, 8), epoch: 3 });
    await out.preCommit!(4);
    await out.commit!(4, []);
    await out.close();
    expect(await committed(path)).toEqual({ ids: range(1, 9), epoch: 4 });
  });

  it('overwrite replaces the table at the first commit, and a run that fails leaves the table as it was', async () => {
    const path = join(dir, 'overwrite.duckdb');
    const first = sink(path, {}, null);
    await first.open!();
    await first.write(batch(100, 104), 0);
    await first.close();
    expect((await committed(path)).ids).toEqual(range(100, 104));

    const second = sink(path, {}, false);
    await second.open!();
    await second.write(batch(1, 2), 0);
    await second.preCommit!(1);
    await second.write(batch(3, 3), 0);
    expect((await committed(path)).ids).toEqual(range(100, 104));
    await second.commit!(1, []);
    expect((await committed(path)).ids).toEqual([1, 2]);
    await second.preCommit!(2);
    await second.commit!(2, []);
    await second.close();
    expect((await committed(path)).ids).toEqual([1, 2, 3]);

    // Without checkpoints a run is one transaction: a failure (abort) before its end changes nothing.
    const failing = sink(path, {}, null);
    await failing.open!();
    await failing.write(batch(50, 60), 0);
    await failing.abort!();
    expect((await committed(path)).ids).toEqual([1, 2, 3]);
  });

  it('appends into a table whose columns differ from the input through the stage, casting', async () => {
    const path = join(dir, 'cast.duckdb');
    const conn = await duckdbConnect(path);
    await conn.run('CREATE TABLE t (id DOUBLE, note VARCHAR, extra VARCHAR)');
    await conn.run("INSERT INTO t VALUES (0.5, 'old', 'kept')");
    conn.closeSync();
    const out = sink(path, { mode: 'append' }, false);
    await out.open!();
    expect(await stages(path)).toBe(1);
    await out.write(batch(1, 2), 0);
    await out.preCommit!(1);
    await out.write(batch(3, 3), 0);
    await out.commit!(1, []);
    expect(await committed(path)).toEqual({ ids: [0.5, 1, 2], epoch: 1 });
    await out.abort!();
    expect(await committed(path)).toEqual({ ids: [0.5, 1, 2], epoch: 1 });
  });
});

/** A loader that records what each transaction would commit, and what opened it. */
function recordingLoader(failOn?: number) {
  const commits: { begun: readonly string[]; statements: readonly string[]; ids: number[] }[] = [];
  let open: { begun: readonly string[]; ids: number[] } | null = null;
  let appended: number[] = [];
  const loader: TransactionLoader = {
    async begin(statements) {
      if (open) throw new Error('BEGIN inside a transaction');
      open = { begun: statements, ids: [] };
    },
    append(b: RecordBatch) {
      if (!open) throw new Error('append outside a transaction');
      const ids = Array.from({ length: b.numRows }, (_, i) => Number(b.getChild('id')!.get(i)));
      if (failOn !== undefined && ids.includes(failOn)) throw new Error(`cannot append ${failOn}`);
      appended.push(...ids);
    },
    async flush() {
      open!.ids.push(...appended);
      appended = [];
    },
    async commit(statements) {
      commits.push({ ...open!, statements });
      open = null;
    },
    async close() {
      open = null;
    },
  };
  return { loader, commits };
}

describe('EpochTransactions', () => {
  const options = { epoch: 1, first: ['replace the table'], record: (id: number) => [`record ${id}`], maxPendingRows: 1000 };

  it('holds rows written after a barrier until the commit before them, and keeps them in arrival order', async () => {
    const { loader, commits } = recordingLoader();
    const tx = new EpochTransactions(loader, options);
    await tx.write(batch(1, 2));
    await tx.preCommit(1);
    await tx.write(batch(3, 3));
    await tx.preCommit(2);
    await tx.write(batch(4, 4));
    await tx.commit(1);
    await tx.write(batch(5, 5));
    await tx.commit(2);
    await tx.preCommit(3);
    await tx.commit(3, ['cleanup']);
    await tx.close();
    expect(commits).toEqual([
      { begun: ['replace the table'], statements: ['record 1'], ids: [1, 2] },
      { begun: [], statements: ['record 2'], ids: [3] },
      { begun: [], statements: ['record 3', 'cleanup'], ids: [4, 5] },
    ]);
  });

  it('makes the engine wait while too many rows are held, until their commit', async () => {
    const { loader } = recordingLoader();
    const tx = new EpochTransactions(loader, { ...options, maxPendingRows: 10 });
    await tx.write(batch(1, 5));
    await tx.preCommit(1);
    expect(tx.write(batch(6, 10))).toBeUndefined();
    let released = false;
    const waiting = tx.write(batch(11, 20))!.then(() => (released = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(released).toBe(false);
    await tx.commit(1);
    await waiting;
    expect(released).toBe(true);
  });

  it('fails the next call after a failed append, and commits nothing after it', async () => {
    const { loader, commits } = recordingLoader(3);
    const tx = new EpochTransactions(loader, options);
    await tx.write(batch(1, 2));
    await tx.write(batch(3, 4));
    await expect(tx.preCommit(1)).rejects.toThrow('cannot append 3');
    await expect(tx.commit(1)).rejects.toThrow('cannot append 3');
    expect(commits).toEqual([]);
  });

  it('appends at once while nothing is queued, and fails that write itself', async () => {
    const { loader, commits } = recordingLoader(3);
    const tx = new EpochTransactions(loader, options);
    await tx.write(batch(1, 2)); // opens the transaction (queued)
    await new Promise((r) => setTimeout(r, 0));
    expect(() => tx.write(batch(3, 4))).toThrow('cannot append 3');
    await expect(tx.preCommit(1)).rejects.toThrow('cannot append 3');
    expect(commits).toEqual([]);
  });
});
