/** The client library's response reader as abflow runs it (connection.ts corrects how it reads tagged fields). */
import { expect, it } from 'vitest';
import { kafkaLib } from '../../../../connectors/kafka/connection.js';

const FENCED_LEADER_EPOCH = 74;

it('reads a fetch answer whose partition carries a tagged field, as brokers send after a restart (KIP-951)', () => {
  const { Writer, Reader, fetchV17 } = kafkaLib();
  const answer = Writer.create()
    .appendInt32(0) // throttle time
    .appendInt16(0) // error code
    .appendInt32(0) // fetch session
    .appendUnsignedVarInt(2) // one topic (compact array: length + 1)
    .appendUUID('6ba7b810-9dad-11d1-80b4-00c04fd430c8')
    .appendUnsignedVarInt(3) // two partitions
    .appendInt32(3)
    .appendInt16(FENCED_LEADER_EPOCH)
    .appendInt64(-1n) // high watermark
    .appendInt64(-1n) // last stable offset
    .appendInt64(-1n) // log start offset
    .appendUnsignedVarInt(1) // no aborted transactions
    .appendInt32(-1) // preferred read replica
    .appendUnsignedVarInt(1) // no records
    // The partition's tagged fields: one, tag 1 (current_leader: leader id, leader epoch, its own empty tag section).
    .appendUnsignedVarInt(1)
    .appendUnsignedVarInt(1)
    .appendUnsignedVarInt(9)
    .appendInt32(1)
    .appendInt32(7)
    .appendUnsignedVarInt(0)
    // The next partition, fine: read only if the tagged field before it was skipped whole.
    .appendInt32(4)
    .appendInt16(0)
    .appendInt64(10n)
    .appendInt64(10n)
    .appendInt64(0n)
    .appendUnsignedVarInt(1)
    .appendInt32(-1)
    .appendUnsignedVarInt(1)
    .appendUnsignedVarInt(0)
    .appendUnsignedVarInt(0) // the topic's tagged fields
    .appendUnsignedVarInt(0); // the answer's
  let thrown: unknown;
  try {
    fetchV17.parseResponse(1, 1, 17, Reader.from(answer.buffer));
  } catch (e) {
    thrown = e;
  }
  // The broker's error, with the partition parsed, is what lets the client refresh its metadata and retry.
  const error = thrown as { response?: { responses: { partitions: object[] }[] } };
  expect(error.response?.responses[0]!.partitions).toMatchObject([
    { partitionIndex: 3, errorCode: FENCED_LEADER_EPOCH },
    { partitionIndex: 4, errorCode: 0, highWatermark: 10n },
  ]);
});

it('fails a connection to a broker missing from the metadata with a retriable error, not a TypeError', async () => {
  const { ConnectionPool } = kafkaLib();
  const pool = new ConnectionPool('abflow-test');
  const failure = (await (pool.get(undefined as never) as Promise<unknown>).catch((e: unknown) => e)) as { message: string; canRetry?: boolean };
  expect(failure.message).toMatch(/no longer in the cluster metadata/);
  expect(failure.canRetry).toBe(true);
  const viaCallback = await new Promise<Error | null>((resolve) => pool.get(undefined as never, (e) => resolve(e)));
  expect(viaCallback?.message).toMatch(/no longer in the cluster metadata/);
});
