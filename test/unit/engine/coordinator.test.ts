import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Coordinator } from '../../../engine/state/coordinator.js';
import { CheckpointStore } from '../../../engine/state/store.js';
import { tempDir } from '../../kit/cli.js';

describe('checkpoint coordinator', () => {
  it('lets the newest fully acknowledged checkpoint subsume the older ones while a commit runs, markers in order', async () => {
    const failures: unknown[] = [];
    const reported: number[] = [];
    const c = new Coordinator({
      store: null,
      participants: ['src', 'sink'],
      sources: ['src'],
      parallelism: 1,
      keep: 1,
      firstId: 1,
      fail: (e) => failures.push(e),
      onCheckpoint: (cp) => reported.push(cp.id),
    });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const commits: { id: number; markers: unknown[] }[] = [];
    c.whenComplete(async (id) => {
      commits.push({ id, markers: c.markersOf(id, ['src']) });
      if (id === 1) await gate;
    });
    const committed: number[] = [];
    c.whenCommitted(async (id) => void committed.push(id));

    const ids = [await c.requestNow(), await c.requestNow(), await c.requestNow(), await c.requestNow()];
    expect(ids).toEqual([1, 2, 3, 4]);
    for (const id of ids) c.addMarkers(id, 'src', [`state ${id}`]);
    const ackAll = (id: number) => ['src', 'sink'].forEach((v) => c.ack(v, id));
    ackAll(1);
    await new Promise((r) => setTimeout(r, 10)); // checkpoint 1 is committing, held at the gate
    ackAll(2);
    ackAll(3);
    c.ack('src', 4); // not complete: the sink has not acknowledged it
    release();
    await new Promise((r) => setTimeout(r, 10));

    expect(commits).toEqual([
      { id: 1, markers: ['state 1'] },
      { id: 3, markers: ['state 2', 'state 3'] },
    ]);
    expect(committed).toEqual([1, 3]);
    expect(reported).toEqual([1, 2, 3]);
    expect(c.completed.map((x) => x.id)).toEqual([1, 2, 3]);

    c.ack('sink', 4);
    await new Promise((r) => setTimeout(r, 10));
    expect(commits.at(-1)).toEqual({ id: 4, markers: ['state 4'] });
    expect(failures).toEqual([]);
  });

  it('lets sinks commit a checkpoint only once it is durable in the store, then the sources hear of it', async () => {
    const store = await CheckpointStore.open(join(tempDir('abflow-coordinator-'), 'cp.duckdb'));
    const failures: unknown[] = [];
    const c = new Coordinator({
      store,
      participants: ['src', 'keyed', 'sink'],
      sources: ['src'],
      parallelism: 1,
      keep: 2,
      firstId: 1,
      fail: (e) => failures.push(e),
    });
    const seen: string[] = [];
    c.whenComplete(async (id) => void seen.push(`sink commits ${id}; stored: ${(await store.list()).map((m) => m.id).join(',')}`));
    const told = new Promise<void>((resolve) => c.whenCommitted(async (id) => (seen.push(`source told ${id}`), resolve())));
    const id = await c.requestNow();
    c.ack('src', id, [{ vertex: 'src', part: 0, fingerprint: 'f', value: { line: 7 } }]);
    c.ack('keyed', id, [{ vertex: 'keyed', part: 0, fingerprint: 'g', value: { entries: [['k', 1]] } }]);
    expect(seen).toEqual([]);
    c.ack('sink', id);
    await told;
    expect(seen).toEqual(['sink commits 1; stored: 1', 'source told 1']);
    expect((await store.load(1)).states.map((s) => s.value)).toEqual([{ line: 7 }, { entries: [['k', 1]] }]);
    expect(failures).toEqual([]);
    store.close();
  });
});
