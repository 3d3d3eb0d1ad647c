/**
 * @module runtime/align
 * How a vertex reads its inputs: one element at a time, in arrival order per input, with checkpoint barriers aligned
 * (Flink's aligned checkpoints). An input that delivered barrier N is not read further until every input has
 * delivered it; then `onBarrier(N)` runs once, after every element handled before it and before any element that
 * followed it on any input. That is what makes a snapshot of a multi-input operator consistent: it holds exactly
 * the rows before the barrier on every input.
 */
import type { Channel, Element } from './channel.js';

export async function readAligned(
  inputs: readonly Channel[],
  handle: (el: Exclude<Element, { t: 'barrier' }>, input: number) => Promise<void>,
  onBarrier: (checkpoint: number) => Promise<void>,
): Promise<void> {
  const waiting = new Map<number, { arrived: number; release: (() => void)[] }>();
  let serial = Promise.resolve();
  await Promise.all(
    inputs.map(async (ch, i) => {
      for (;;) {
        const el = await ch.pull();
        if (el.t === 'barrier') {
          const a = waiting.get(el.id) ?? { arrived: 0, release: [] };
          waiting.set(el.id, a);
          if (++a.arrived < inputs.length) await new Promise<void>((r) => a.release.push(r));
          else {
            waiting.delete(el.id);
            serial = serial.then(() => onBarrier(el.id));
            await serial;
            for (const r of a.release) r();
          }
          continue;
        }
        serial = serial.then(() => handle(el, i));
        await serial;
        if (el.t === 'end') return;
      }
    }),
  );
}
