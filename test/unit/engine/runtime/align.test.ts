/**
 * Barrier alignment as every multi-input vertex reads its inputs (runtime/align.ts): the snapshot of checkpoint N
 * holds exactly the rows before barrier N on every input — an input that delivered the barrier is not read further
 * until all have, and `onBarrier` runs between the two sides.
 */
import type { RecordBatch } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { readAligned } from '../../../../engine/runtime/align.js';
import { Channel, type Element } from '../../../../engine/runtime/channel.js';

const batch = (name: string): Element => ({ t: 'batch', batch: { numRows: 1, name } as unknown as RecordBatch });
const nameOf = (el: Element) => (el.t === 'batch' ? (el.batch as unknown as { name: string }).name : el.t);

describe('readAligned', () => {
  it('holds an input that delivered barrier N until every input has, and runs onBarrier between the two sides', async () => {
    const fast = new Channel('fast', 16);
    const slow = new Channel('slow', 16);
    const seen: string[] = [];
    const reading = readAligned(
      [fast, slow],
      async (el, i) => void seen.push(`${i}:${nameOf(el)}`),
      async (id) => void seen.push(`snapshot ${id}`),
    );
    // The fast input delivers its barrier and a row after it before the slow input has delivered its rows.
    await fast.push(batch('f1'));
    await fast.push({ t: 'barrier', id: 1 });
    await fast.push(batch('f2 after barrier'));
    await new Promise((r) => setTimeout(r, 10));
    await slow.push(batch('s1'));
    await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual(['0:f1', '1:s1']); // f2 waits: its input is blocked at the barrier
    await slow.push({ t: 'barrier', id: 1 });
    await slow.push(batch('s2 after barrier'));
    await fast.push({ t: 'end' });
    await slow.push({ t: 'end' });
    await reading;
    expect(seen.slice(0, 3)).toEqual(['0:f1', '1:s1', 'snapshot 1']);
    expect(seen.slice(3).sort()).toEqual(['0:end', '0:f2 after barrier', '1:end', '1:s2 after barrier']);
  });
});
