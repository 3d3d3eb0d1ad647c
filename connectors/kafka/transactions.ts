/**
 * What the `kafka` sink needs of Kafka's transaction protocol beyond a producer: the state of a transactional id and
 * committing a transaction another process pre-committed. After a crash, the transaction of the last complete
 * checkpoint may still be open (flushed, not committed); it is committed with the producer id and epoch the
 * transaction coordinator reports, as Flink's KafkaSink resumes its transactions. Requests go straight to the
 * coordinator over the client library's protocol layer; everything else uses its producer.
 */
import type { Connection as KafkaConnection } from '@platformatic/kafka';
import { brokersOf, type ConnectionConfig, clientOptions, errorText, kafkaLib } from './connection.js';

/** Errors worth another try: the coordinator loading or moving, the broker unreachable or restarting. */
const RETRIABLE = /not available|loading|load in progress|not the coordinator|connection|ECONNREFUSED|ECONNRESET|timed out/i;

/** FindCoordinator's key type for transactional ids. */
const TRANSACTION_COORDINATOR = 1;

export interface TransactionState {
  /** Kafka's name: Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort, Dead; null: never used. */
  readonly state: string | null;
  readonly producerId: bigint;
  readonly producerEpoch: number;
}

export class TransactionAdmin {
  private readonly open: KafkaConnection[] = [];

  constructor(
    private readonly cfg: ConnectionConfig,
    private readonly nodeId: string,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {}

  /** Runs `f` again while the coordinator is loading or moving (a fresh cluster creates its transaction log first) or
   * the broker cannot be reached (restarting). */
  private async retrying<T>(f: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await f();
      } catch (e) {
        if (attempt >= this.cfg.retries || !RETRIABLE.test(errorText(e))) throw e;
        this.close();
        await this.sleep(this.cfg.retryDelay);
      }
    }
  }

  private async connect(host: string, port: number): Promise<KafkaConnection> {
    const { Connection } = kafkaLib();
    const { clientId, tls, sasl } = clientOptions(this.cfg, this.nodeId) as { clientId: string; tls?: object; sasl?: never };
    const c = new Connection(clientId, { ...(tls ? { tls } : {}), ...(sasl ? { sasl } : {}) });
    this.open.push(c);
    await c.connect(host, port);
    return c;
  }

  private async coordinator(transactionalId: string): Promise<KafkaConnection> {
    const { findCoordinatorV4 } = kafkaLib();
    const [host, port] = brokersOf(this.cfg)[0]!.split(':');
    const bootstrap = await this.connect(host!, Number(port ?? 9092));
    const { coordinators } = await findCoordinatorV4.api.async(bootstrap, TRANSACTION_COORDINATOR, [transactionalId]);
    const c = coordinators[0]!;
    return this.connect(c.host, c.port);
  }

  async describe(transactionalId: string): Promise<TransactionState> {
    const { describeTransactionsV0 } = kafkaLib();
    try {
      const { transactionStates } = await this.retrying(async () =>
        describeTransactionsV0.api.async(await this.coordinator(transactionalId), [transactionalId]),
      );
      const s = transactionStates[0]!;
      return { state: s.transactionState, producerId: s.producerId, producerEpoch: s.producerEpoch };
    } catch (e) {
      // TRANSACTIONAL_ID_NOT_FOUND: the id was never used (or expired).
      if (/could not be found|not found/i.test(errorText(e))) {
        return { state: null, producerId: -1n, producerEpoch: -1 };
      }
      throw e;
    }
  }

  /** Commits the open transaction of `transactionalId` as the producer that began it. */
  async commit(transactionalId: string, at: TransactionState): Promise<void> {
    const { endTxnV4 } = kafkaLib();
    await this.retrying(async () => endTxnV4.api.async(await this.coordinator(transactionalId), transactionalId, at.producerId, at.producerEpoch, true));
  }

  /** Closes the connections without waiting: a connection that never opened may never report that it closed. */
  close(): void {
    for (const c of this.open.splice(0)) void Promise.resolve(c.close()).catch(() => undefined);
  }
}
