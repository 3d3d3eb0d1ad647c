/**
 * What the `kafka` sink needs of Kafka's transaction protocol beyond a producer: the state of a transactional id and
 * ending a transaction another process began. After a crash, the transaction of the last complete checkpoint may
 * still be open (flushed, not committed) and later ones certainly are; each is committed or aborted with the producer
 * id and epoch the transaction coordinator reports, as Flink's KafkaSink resumes and aborts its transactions.
 * Requests go straight to the coordinators over the client library's protocol layer; everything else uses its
 * producer.
 */
import type { Connection as KafkaConnection } from '@platformatic/kafka';
import { brokersOf, type ConnectionConfig, clientOptions, errorText, kafkaLib } from './connection.js';

/** The broker's answer when a request went to a coordinator that is no longer the one (Kafka's NOT_COORDINATOR). */
export const NOT_COORDINATOR = /not the correct coordinator/i;
/** Errors worth another try: the coordinator loading or moving, the broker unreachable or restarting. */
const RETRIABLE = new RegExp(
  `${NOT_COORDINATOR.source}|not available|loading|load in progress|connection|ECONNREFUSED|ECONNRESET|timed out|no longer in the cluster`,
  'i',
);

/** FindCoordinator's key type for transactional ids. */
const TRANSACTION_COORDINATOR = 1;

export interface TransactionState {
  /** Kafka's name: Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort, Dead; null: never used. */
  readonly state: string | null;
  readonly producerId: bigint;
  readonly producerEpoch: number;
}

/** DescribeTransactions' answer for an id that was never used (or expired). */
const TRANSACTIONAL_ID_NOT_FOUND = 105;
const NEVER_USED: TransactionState = { state: null, producerId: -1n, producerEpoch: -1 };

type Described = { errorCode: number; transactionalId: string; transactionState: string; producerId: bigint; producerEpoch: number };

export class TransactionAdmin {
  /** Connections by host:port, reused by every request to that broker. */
  private readonly connections = new Map<string, Promise<KafkaConnection>>();
  /** Where each transactional id's coordinator is (host:port), once looked up. */
  private readonly coordinatorOf = new Map<string, string>();

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

  private connection(address: string): Promise<KafkaConnection> {
    const open = this.connections.get(address);
    if (open) return open;
    const { Connection } = kafkaLib();
    const { clientId, tls, sasl } = clientOptions(this.cfg, this.nodeId) as { clientId: string; tls?: object; sasl?: never };
    const conn = new Connection(clientId, { ...(tls ? { tls } : {}), ...(sasl ? { sasl } : {}) });
    const cut = address.lastIndexOf(':');
    const connected = Promise.resolve(conn.connect(address.slice(0, cut), Number(address.slice(cut + 1)))).then(() => conn);
    // A failed connection is not kept: the next attempt opens a new one.
    connected.catch(() => {
      if (this.connections.get(address) === connected) this.connections.delete(address);
    });
    this.connections.set(address, connected);
    return connected;
  }

  /** Looks up the coordinators of `ids` (one FindCoordinator request) and groups the ids by coordinator. */
  private async byCoordinator(ids: readonly string[]): Promise<Map<string, string[]>> {
    const { findCoordinatorV4 } = kafkaLib();
    const missing = ids.filter((id) => !this.coordinatorOf.has(id));
    if (missing.length) {
      const bootstrap = brokersOf(this.cfg)[0]!;
      const { coordinators } = await findCoordinatorV4.api.async(
        await this.connection(bootstrap.includes(':') ? bootstrap : `${bootstrap}:9092`),
        TRANSACTION_COORDINATOR,
        missing,
      );
      for (const c of coordinators) this.coordinatorOf.set(c.key, `${c.host}:${c.port}`);
    }
    const groups = new Map<string, string[]>();
    for (const id of ids) {
      const at = this.coordinatorOf.get(id)!;
      groups.set(at, [...(groups.get(at) ?? []), id]);
    }
    return groups;
  }

  /** The state of each transactional id: one request per coordinator, not one per id (a restart asks about ~20). */
  async describe(ids: readonly string[]): Promise<Map<string, TransactionState>> {
    const { describeTransactionsV0 } = kafkaLib();
    return this.retrying(async () => {
      const states = new Map<string, TransactionState>();
      for (const [at, group] of await this.byCoordinator(ids)) {
        // The library throws when any id has an error, with the whole answer attached: ids never used are fine.
        const answer = await describeTransactionsV0.api
          .async(await this.connection(at), group)
          .catch((e: { response?: { transactionStates: Described[] } }) => {
            const states = e.response?.transactionStates;
            if (!states || states.some((x) => x.errorCode !== 0 && x.errorCode !== TRANSACTIONAL_ID_NOT_FOUND)) throw e;
            return { transactionStates: states };
          });
        for (const x of answer.transactionStates as Described[])
          states.set(x.transactionalId, x.errorCode ? NEVER_USED : { state: x.transactionState, producerId: x.producerId, producerEpoch: x.producerEpoch });
      }
      return states;
    });
  }

  /** Ends the open transaction of `transactionalId` as the producer that began it: commits or aborts it. (A new
   * producer's InitProducerId would fence it too, but the client library sends one only with a transaction begun.) */
  async end(transactionalId: string, at: Pick<TransactionState, 'producerId' | 'producerEpoch'>, commit: boolean): Promise<void> {
    const { endTxnV4 } = kafkaLib();
    await this.retrying(async () => {
      const [coordinator] = (await this.byCoordinator([transactionalId])).keys();
      await endTxnV4.api.async(await this.connection(coordinator!), transactionalId, at.producerId, at.producerEpoch, commit);
    });
  }

  /** Closes the connections without waiting: a connection that never opened may never report that it closed. Where
   * coordinators are is looked up again after (they move when a broker restarts). */
  close(): void {
    for (const c of this.connections.values()) void c.then((conn) => conn.close()).catch(() => undefined);
    this.connections.clear();
    this.coordinatorOf.clear();
  }
}
