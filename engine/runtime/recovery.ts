/**
 * @module runtime/recovery
 * Where a run starts from: the checkpoint store opened, the latest usable checkpoint checked against the plan
 * (saved state is only restored into an identical vertex), a finished run's connection positions carried over
 * (SourceSpec.connection), and the coordinator that takes this run's checkpoints.
 */
import { createHash } from 'node:crypto';
import type { CompiledPlan, Vertex } from '../compile/compile.js';
import { schemaToJson } from '../compile/schema-json.js';
import { AbflowError } from '../errors.js';
import type { SourceSpec } from '../operator.js';
import { Coordinator } from '../state/coordinator.js';
import type { Clock } from '../time/clock.js';
import { type Checkpoint, CheckpointStore, type StateBlob } from '../state/store.js';

export interface RecoveryOptions {
  readonly clock: Clock;
  readonly fromScratch?: boolean | undefined;
  readonly onWarning?: ((message: string) => void) | undefined;
  readonly onCheckpoint?: ((c: { id: number; ms: number; bytes: number; finished: boolean }) => void) | undefined;
}

/** What a vertex is: kind, config and input schemas (or, for a source keeping connection state, its connection). */
export function fingerprint(v: Vertex): string {
  const connection = connectionOf(v);
  const shape =
    connection !== undefined
      ? ['connection', v.type === 'source' && v.node.kind, connection]
      : v.type === 'chain'
        ? v.members.map((m) => [m.kind, m.rawConfig, m.inputSchema])
        : [v.node.kind, v.node.rawConfig, v.node.inputSchemas.map(schemaToJson)];
  return createHash('sha1').update(JSON.stringify(shape)).digest('hex');
}

/** The connection a source vertex's position belongs to (SourceSpec.connection), or undefined. */
function connectionOf(v: Vertex): unknown {
  if (v.type !== 'source') return undefined;
  return (v.node.spec as SourceSpec).connection?.(v.node.config as never);
}

const planId = (v: Vertex) => (v.type === 'source' ? (v.node.decodedBy ?? v.id) : v.id);

/** The plan nodes a vertex runs, as a user wrote them (a chain's id is the engine's, not theirs). */
const nodesOf = (v: Vertex) => (v.type === 'chain' ? v.members.map((m) => `\`${m.nodeId}\``).join(' → ') : `\`${planId(v)}\``);

export class Recovery {
  coordinator: Coordinator | null = null;
  /** The newest usable checkpoint, finished or not. */
  private latest: Checkpoint | null = null;
  /** After a finished run: the positions of sources that keep connection state. */
  private carried: { states: StateBlob[] } | null = null;

  constructor(
    private readonly plan: CompiledPlan,
    private readonly opts: RecoveryOptions,
    private readonly fail: (e: unknown) => void,
  ) {}

  /** The checkpoint this run resumes from (null: a fresh start; a finished run's output was already committed). */
  /** What this run restores: the latest checkpoint unless it finished its run. */
  private get restored(): Checkpoint | null {
    return this.latest?.finished ? null : this.latest;
  }

  get resumeFrom(): number | null {
    return this.restored?.id ?? null;
  }

  /** The newest complete checkpoint, finished or not (null: none, or a start from scratch): its sinks' commit may
   * have been cut short, so they complete it on open (SinkContext.checkpointing). */
  get lastComplete(): number | null {
    return this.latest?.id ?? null;
  }

  stateOf(vertex: string): StateBlob[] {
    return (this.restored ?? this.carried)?.states.filter((s) => s.vertex === vertex) ?? [];
  }

  /** Opens the store and reads where to start; returns the store (null without `engine.checkpoint`). */
  async open(): Promise<CheckpointStore | null> {
    const cp = this.plan.engine.checkpoint;
    const vertices = this.plan.physical.vertices;
    const base = {
      participants: vertices.map((v) => v.id),
      sources: vertices.filter((v) => v.type === 'source').map((v) => v.id),
      parallelism: this.plan.engine.parallelism,
      fail: this.fail,
      onCheckpoint: this.opts.onCheckpoint,
      clock: this.opts.clock,
    };
    if (!cp) {
      // Sources with their own commit points (Airbyte STATE) still get checkpoints, for the commits only.
      if (vertices.some((v) => v.type === 'source' && (v.node.spec as SourceSpec).drivesCheckpoints))
        this.coordinator = new Coordinator({ ...base, store: null, keep: 1, firstId: 1 });
      return null;
    }
    const store = await CheckpointStore.open(cp.path);
    let firstId = 1;
    if (this.opts.fromScratch) await store.reset();
    else {
      const { checkpoint, skipped } = await store.latestUsable();
      for (const s of skipped) this.opts.onWarning?.(`${s}; recovering from the previous complete checkpoint`);
      firstId = ((await store.list())[0]?.id ?? 0) + 1;
      this.latest = checkpoint;
      if (checkpoint?.finished) this.carried = this.carryOver(checkpoint);
      this.checkFits();
    }
    this.coordinator = new Coordinator({ ...base, store, keep: cp.keep, firstId });
    if (cp.intervalMs !== null) this.coordinator.start(cp.intervalMs);
    return store;
  }

  /** Refuses a checkpoint whose state belongs to vertices that are gone or changed. */
  private checkFits(): void {
    if (!this.restored) return;
    const problems: string[] = [];
    for (const blob of this.restored.states) {
      const v = this.plan.physical.vertices.find((x) => x.id === blob.vertex);
      if (!v) problems.push(`\`${blob.vertex}\` has saved state but is no longer in the plan`);
      else if (fingerprint(v) !== blob.fingerprint)
        problems.push(`${nodesOf(v)} changed (kind, config or input schema): its saved state cannot be read safely`);
    }
    if (problems.length)
      throw new AbflowError('config', `checkpoint ${this.restored.id} does not fit this plan:\n  ${[...new Set(problems)].join('\n  ')}`, {
        hint: 'run with --from-scratch to discard the saved state',
      });
  }

  /** After a finished run, the positions of sources that keep connection state (an incremental sync continues);
   * everything else starts afresh. A source whose connection changed (other streams) starts afresh too. */
  private carryOver(finished: Checkpoint): { states: StateBlob[] } | null {
    const states: StateBlob[] = [];
    const kept: string[] = [];
    const changed: string[] = [];
    for (const v of this.plan.physical.vertices) {
      if (connectionOf(v) === undefined) continue;
      const blob = finished.states.find((s) => s.vertex === v.id);
      if (!blob) continue;
      if (blob.fingerprint === fingerprint(v)) {
        states.push(blob);
        kept.push(planId(v));
      } else changed.push(planId(v));
    }
    this.opts.onWarning?.(
      `the previous run finished (checkpoint ${finished.id}); ${kept.length ? `${kept.join(', ')} continue${kept.length === 1 ? 's' : ''} from its last committed position (--from-scratch resets it), everything else starts afresh` : 'starting afresh'}` +
        (changed.length ? `; ${changed.join(', ')}: the connection changed (other streams), so its saved position was not used` : ''),
    );
    return states.length ? { states } : null;
  }
}
