import { describe, expect, it } from 'vitest';
import { Coordinator } from '../../../engine/state/coordinator.js';

describe('checkpoint coordinator', () => {
  it('lets the newest fully acknowledged checkpoint subsume the older ones while a commit runs, markers in order', async () => {
    const failures: unknown[] = [];
    const reported: number[] = [];
    const c = new Coordinator(null, ['src', 'sink'], ['src'], 1, 1, 1, (e) => failures.push(e), (cp) => reported.push(cp.id));
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
});
