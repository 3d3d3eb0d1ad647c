/**
 * @module compile/compile
 * Plan → logical graph → physical plan, as pure stages over immutable data:
 * validate the document, resolve kinds and configs, wire inputs (ports, cycles), infer every edge's Arrow schema,
 * then fuse stateless operators into chains that run data-parallel in the worker pool. All problems found are
 * reported together, each with `file:line:column`.
 */
import { DEAD_LETTERS_NODE, deadLetterFile } from '../deadletter-file.js';
import { availableParallelism } from 'node:os';
import type { Schema } from 'apache-arrow';
import { DEFAULTS } from '../config/defaults.js';
import { DEAD_LETTER_PORT, DEAD_LETTER_SCHEMA } from '../deadletter.js';
import { AbflowError, isAbflowError, PlanErrors, suggestion } from '../errors.js';
import type { AnySpec, OperatorSpec, SinkSpec, SourceSpec } from '../operator.js';
import { type LoadedPlan, zodErrors } from '../plan/load.js';
import { type EngineOptions, planSchema, type PlanSpec } from '../plan/schema.js';
import type { Registry } from '../registry.js';
import { withoutSourceText } from '../types.js';
import { checkResource, type Resource, type SubmissionPolicy } from '../policy.js';
import { type SchemaJson, schemaToJson } from './schema-json.js';

export interface InputRef {
  readonly node: string;
  readonly port: string;
}

export interface LogicalNode {
  readonly id: string;
  /** A source whose raw records a decoder turns into rows: the decoder's id, which is the id the plan gave the source
   * (this node's own id is internal). */
  readonly decodedBy?: string;
  readonly role: AnySpec['role'];
  readonly kind: string;
  readonly spec: AnySpec;
  readonly config: unknown;
  /** The config as written (re-parsed by workers, which apply the same defaults). */
  readonly rawConfig: unknown;
  readonly inputs: readonly InputRef[];
  readonly inputSchemas: readonly Schema[];
  /** Output ports and their schemas, `dead_letter` included when the component has one. */
  readonly outputs: Readonly<Record<string, Schema>>;
  /** Path of the node in the plan document, e.g. `['operators', 2]`; decoders inserted by the compiler have none. */
  readonly path: readonly (string | number)[] | null;
}

export interface ChainMember {
  readonly nodeId: string;
  readonly kind: string;
  readonly rawConfig: unknown;
  readonly inputSchema: SchemaJson;
  readonly outputs: Readonly<Record<string, SchemaJson>>;
  /** Index of the member feeding this one (-1: the chain input) and the port it reads. */
  readonly from: { readonly member: number; readonly port: string };
}

/** How an edge distributes rows: `forward` (one consumer instance), `rebalance` (any pool worker; order restored
 * by the runtime) or `hash` (by key columns into key groups, each owned by one partition of a keyed operator). */
export type Partitioning = 'forward' | 'rebalance' | { readonly hash: readonly string[] };

export type Vertex =
  | { readonly type: 'source'; readonly id: string; readonly node: LogicalNode }
  | {
      readonly type: 'chain';
      readonly id: string;
      readonly members: readonly ChainMember[];
      readonly parallelism: number;
      /** A member generates watermarks: upstream ones are replaced (the final one excepted). */
      readonly generatesWatermarks: boolean;
      readonly idleTimeoutMs: number | undefined;
      /** Every member is `columnsOnly` and no output is split by key: the chain runs on the coordinating thread. */
      readonly inline: boolean;
    }
  | {
      readonly type: 'keyed';
      readonly id: string;
      readonly node: LogicalNode;
      readonly parallelism: number;
      /** Key columns per input. */
      readonly keys: readonly (readonly string[])[];
    }
  | { readonly type: 'single'; readonly id: string; readonly node: LogicalNode }
  /** `deadLetters`: the job's dead-letter file, for dead letters no sink of the plan takes (deadletter-file.ts). */
  | { readonly type: 'sink'; readonly id: string; readonly node: LogicalNode; readonly deadLetters?: true };

export interface Edge {
  readonly from: string;
  /** `node.port` of the producing node. */
  readonly port: string;
  readonly to: string;
  readonly input: number;
  readonly partitioning: Partitioning;
  readonly schema: Schema;
}

export interface PhysicalPlan {
  readonly vertices: readonly Vertex[];
  readonly edges: readonly Edge[];
  /** `node.port` outputs that nothing consumes (counted as discarded at run time). */
  readonly unconsumed: readonly string[];
}

export type ResolvedEngine = Omit<EngineOptions, 'parallelism' | 'linger' | 'checkpoint'> & {
  readonly parallelism: number;
  readonly lingerMs: number;
  readonly deadLetters: string;
  /** `intervalMs` null: no periodic checkpoints, only the sources' own commit points (a plan without
   * `engine.checkpoint` whose sources keep connection state across runs, `SourceSpec.connection`). */
  readonly checkpoint: { readonly intervalMs: number | null; readonly keep: number; readonly path: string } | null;
};

export interface CompiledPlan {
  readonly name: string;
  readonly file: string;
  readonly engine: ResolvedEngine;
  readonly nodes: readonly LogicalNode[];
  readonly physical: PhysicalPlan;
  readonly warnings: readonly string[];
}

export interface CompileOptions {
  /** Overrides `engine.parallelism` (CLI `--parallelism`). */
  readonly parallelism?: number;
  /** Overrides `engine.inline` (CLI `--inline`). */
  readonly inline?: boolean;
  /** What the plan may touch (plans submitted to the service); absent: everything (the CLI). */
  readonly policy?: SubmissionPolicy;
}

const ROLE_SECTION = { source: 'sources', operator: 'operators', sink: 'sinks' } as const;

export async function compilePlan(loaded: LoadedPlan, registry: Registry, opts: CompileOptions = {}): Promise<CompiledPlan> {
  const parsed = planSchema.safeParse(loaded.value, { reportInput: true });
  if (!parsed.success) throw new PlanErrors(zodErrors(parsed.error, planSchema, [], loaded.value).map((e) => loaded.place(e)));
  const plan: PlanSpec = parsed.data;
  const errors: AbflowError[] = [];
  const fail = (e: AbflowError) => errors.push(loaded.place(e));

  // 1. Resolve kinds and configs.
  interface Draft {
    id: string;
    spec: AnySpec;
    config: unknown;
    rawConfig: unknown;
    inputs: string[];
    path: (string | number)[];
  }
  const drafts: Draft[] = [];
  const seen = new Map<string, (string | number)[]>();
  for (const role of ['source', 'operator', 'sink'] as const) {
    const section = ROLE_SECTION[role];
    plan[section].forEach((n, i) => {
      const path = [section, i];
      if (seen.has(n.id)) {
        fail(
          new AbflowError('duplicate_id', `duplicate id \`${n.id}\` (also used at ${loaded.locate(seen.get(n.id)!)})`, {
            path: [...path, 'id'],
            hint: 'give every source, operator and sink its own id',
          }),
        );
        return;
      }
      seen.set(n.id, path);
      const spec = registry.get(role, n.kind);
      if (!spec) {
        const hint = suggestion(n.kind, registry.kinds(role));
        fail(
          new AbflowError('unknown_kind', `unknown ${role} kind \`${n.kind}\``, {
            path: [...path, 'kind'],
            hint: hint ?? `${role} kinds: ${registry.kinds(role).join(', ')}`,
          }),
        );
        return;
      }
      const raw = n.config ?? {};
      const cfg = spec.config.safeParse(raw, { reportInput: true });
      if (!cfg.success) {
        for (const e of zodErrors(cfg.error, spec.config, [...path, 'config'], raw)) fail(e);
        return;
      }
      // Before anything of the component runs (a connector's discover, a file read for a schema).
      if (opts.policy) {
        const refused = (spec.resources?.(cfg.data as never) ?? []).flatMap((r) => {
          try {
            checkResource(opts.policy!, r);
            return [];
          } catch (e) {
            if (!isAbflowError(e)) throw e;
            e.path = [...path, 'config', ...(e.path ?? [])];
            return [e];
          }
        });
        if (refused.length) return void refused.forEach(fail);
      }
      const inputs = (n as { inputs?: string[] }).inputs ?? [];
      drafts.push({ id: n.id, spec, config: cfg.data, rawConfig: raw, inputs, path });
    });
  }
  if (opts.policy) {
    const engine = plan.engine;
    const files: Resource[] = [
      ...(engine.deadLetters ? [{ kind: 'write' as const, path: engine.deadLetters.replace('{name}', plan.name), at: ['engine', 'deadLetters'] }] : []),
      ...(engine.checkpoint?.path
        ? [{ kind: 'write' as const, path: engine.checkpoint.path.replace('{name}', plan.name), at: ['engine', 'checkpoint', 'path'] }]
        : []),
    ];
    for (const r of files) {
      try {
        checkResource(opts.policy, r);
      } catch (e) {
        if (!isAbflowError(e)) throw e;
        fail(e);
      }
    }
  }

  // 2. Wire inputs: every reference must name an existing node and one of its ports.
  const portsById = new Map<string, string[]>();
  for (const d of [...drafts]) {
    if (d.spec.role === 'sink') continue;
    try {
      const ports = [...(d.spec.ports?.(d.config as never) ?? ['out'])];
      if (d.spec.role === 'operator' ? (d.spec as OperatorSpec).deadLetters : (d.spec as SourceSpec).decoder) ports.push(DEAD_LETTER_PORT);
      portsById.set(d.id, ports);
    } catch (e) {
      if (!isAbflowError(e)) throw e;
      e.path = [...d.path, 'config', ...(e.path ?? [])];
      fail(e);
      drafts.splice(drafts.indexOf(d), 1);
    }
  }
  const byId = new Map(drafts.map((d) => [d.id, d]));
  const portsOf = (d: Draft): string[] => portsById.get(d.id) ?? [];
  const resolvedInputs = new Map<string, InputRef[]>();
  for (const d of drafts) {
    if (d.spec.role === 'source') continue;
    const limits = (d.spec as OperatorSpec | SinkSpec).inputs ?? { min: 1, max: 1 };
    if (d.inputs.length < limits.min) {
      fail(
        new AbflowError('unconnected_input', `\`${d.id}\` has no input${limits.min > 1 ? `s (needs at least ${limits.min})` : ''}`, {
          path: [...d.path, 'inputs'],
          hint: `connect it, e.g. \`inputs: [${drafts.find((x) => x.spec.role !== 'sink' && x.id !== d.id)?.id ?? 'source'}]\``,
        }),
      );
      continue;
    }
    if (d.inputs.length > limits.max) {
      fail(
        new AbflowError('plan_schema', `\`${d.id}\` (${d.spec.kind}) takes at most ${limits.max} input${limits.max > 1 ? 's' : ''}, got ${d.inputs.length}`, {
          path: [...d.path, 'inputs'],
          hint: limits.max === 1 ? 'merge streams first with a `union` operator' : undefined,
        }),
      );
      continue;
    }
    const refs: InputRef[] = [];
    d.inputs.forEach((ref, k) => {
      const [nodeName, port = 'out'] = ref.split('.') as [string, string?];
      const up = byId.get(nodeName);
      if (!up) {
        const known = [...seen.keys()].filter((x) => x !== d.id);
        if (seen.has(nodeName))
          fail(new AbflowError('unknown_input', `input \`${nodeName}\` is not usable: it has errors of its own (above)`, { path: [...d.path, 'inputs', k] }));
        else
          fail(
            new AbflowError('unknown_input', `input \`${nodeName}\` does not exist`, {
              path: [...d.path, 'inputs', k],
              hint: suggestion(nodeName, known) ?? `nodes: ${known.join(', ')}`,
            }),
          );
        return;
      }
      if (up.spec.role === 'sink') {
        fail(new AbflowError('unknown_input', `\`${nodeName}\` is a sink and has no outputs`, { path: [...d.path, 'inputs', k] }));
        return;
      }
      const ports = portsOf(up);
      if (!ports.includes(port)) {
        fail(
          new AbflowError('unknown_port', `\`${nodeName}\` (${up.spec.kind}) has no port \`${port}\``, {
            path: [...d.path, 'inputs', k],
            hint: `${suggestion(port, ports) ?? ''} ports of ${nodeName}: ${ports.join(', ')}`.trim(),
          }),
        );
        return;
      }
      refs.push({ node: nodeName, port });
    });
    resolvedInputs.set(d.id, refs);
  }

  // 3. Cycles (reported with the cycle itself).
  const order = topoOrder(
    drafts.map((d) => d.id),
    (id) => (resolvedInputs.get(id) ?? []).map((r) => r.node),
    (cycle) => {
      const first = byId.get(cycle[0]!)!;
      fail(
        new AbflowError('cycle', `the plan has a cycle: ${[...cycle, cycle[0]].join(' → ')}`, {
          path: [...first.path, 'inputs'],
          hint: 'plans are acyclic: remove one of these inputs',
        }),
      );
    },
  );
  if (errors.length) throw new PlanErrors(errors);

  // 4. Schemas, in topological order; sources may insert a decoder stage.
  const nodes = new Map<string, LogicalNode>();
  const logical: LogicalNode[] = [];
  const add = (n: LogicalNode) => {
    nodes.set(n.id, n);
    logical.push(n);
  };
  // Sources with a sink downstream that reads their original text (SinkSpec.readsSourceText).
  const keepText = new Set<string>();
  const mark = (id: string): void => {
    if (keepText.has(id)) return;
    keepText.add(id);
    for (const r of resolvedInputs.get(id) ?? []) mark(r.node);
  };
  for (const d of drafts) if (d.spec.role === 'sink' && (d.spec as SinkSpec).readsSourceText) mark(d.id);
  for (const id of order) {
    const d = byId.get(id)!;
    const inputs = resolvedInputs.get(id) ?? [];
    if (inputs.some((r) => !nodes.has(r.node))) continue; // upstream failed; its error is already reported
    try {
      if (d.spec.role === 'source') {
        const spec = d.spec as SourceSpec;
        const outputs = { ...(await spec.outputSchemas(d.config as never)) };
        const dec = spec.decoder?.(d.config as never, outputs, { keepSourceText: keepText.has(id) });
        if (!dec) {
          add({ id, role: 'source', kind: spec.kind, spec, config: d.config, rawConfig: d.rawConfig, inputs: [], inputSchemas: [], outputs, path: d.path });
          continue;
        }
        // The source itself emits raw bytes; its decoder (an ordinary operator) yields the plan-visible ports.
        const decSpec = registry.get('operator', dec.kind);
        if (!decSpec) throw new AbflowError('internal', `decoder kind \`${dec.kind}\` is not registered`, { domain: 'internal' });
        const decCfg = decSpec.config.parse(dec.config);
        const rawSchema = dec.input;
        add({
          id: `${id}__raw`,
          decodedBy: id,
          role: 'source',
          kind: spec.kind,
          spec,
          config: d.config,
          rawConfig: d.rawConfig,
          inputs: [],
          inputSchemas: [],
          outputs: { out: rawSchema },
          path: d.path,
        });
        const decOutputs = { ...decSpec.outputSchemas(decCfg, [rawSchema]), [DEAD_LETTER_PORT]: DEAD_LETTER_SCHEMA };
        add({
          id,
          role: 'operator',
          kind: dec.kind,
          spec: decSpec,
          config: decCfg,
          rawConfig: dec.config,
          inputs: [{ node: `${id}__raw`, port: 'out' }],
          inputSchemas: [rawSchema],
          outputs: decOutputs,
          path: null,
        });
        continue;
      }
      const inputSchemas = inputs.map((r) => nodes.get(r.node)!.outputs[r.port]!);
      if (d.spec.role === 'operator') {
        const spec = d.spec as OperatorSpec;
        const outputs = { ...spec.outputSchemas(d.config as never, inputSchemas) };
        if (spec.deadLetters) outputs[DEAD_LETTER_PORT] = DEAD_LETTER_SCHEMA;
        add({ id, role: 'operator', kind: spec.kind, spec, config: d.config, rawConfig: d.rawConfig, inputs, inputSchemas, outputs, path: d.path });
      } else {
        const spec = d.spec as SinkSpec;
        // Source-text columns reach only the sinks that read them; the runtime drops them for the others.
        const seen = spec.readsSourceText ? inputSchemas : inputSchemas.map((s) => withoutSourceText(s).schema);
        spec.check?.(d.config as never, seen);
        add({ id, role: 'sink', kind: spec.kind, spec, config: d.config, rawConfig: d.rawConfig, inputs, inputSchemas: seen, outputs: {}, path: d.path });
      }
    } catch (e) {
      if (!isAbflowError(e)) throw e;
      e.path = [...d.path, ...(d.spec.role === 'source' || e.path?.[0] !== 'inputs' ? ['config'] : []), ...(e.path ?? [])];
      fail(e);
    }
  }
  if (errors.length) throw new PlanErrors(errors);

  const engine = resolveEngine(
    plan,
    opts,
    logical.some((n) => n.role === 'source' && (n.spec as SourceSpec).connection !== undefined),
  );
  const { physical, warnings } = toPhysical(logical, engine);
  return Object.freeze({ name: plan.name, file: loaded.file, engine, nodes: logical, physical, warnings });
}

function resolveEngine(plan: PlanSpec, opts: CompileOptions, keepsConnections: boolean): ResolvedEngine {
  const e = plan.engine;
  const checkpointPath = (e.checkpoint?.path ?? DEFAULTS.checkpointPath).replace('{name}', plan.name);
  const parallelism = opts.parallelism ?? (e.parallelism === 'auto' ? availableParallelism() : e.parallelism);
  return {
    batchSize: e.batchSize,
    queueCapacity: e.queueCapacity,
    parallelism,
    inline: opts.inline ?? e.inline,
    lingerMs: e.linger,
    deadLetters: (e.deadLetters ?? DEFAULTS.deadLetterPath).replace('{name}', plan.name),
    maxDeadLetterRatio: e.maxDeadLetterRatio,
    checkpoint: e.checkpoint
      ? { intervalMs: e.checkpoint.interval, keep: e.checkpoint.keep, path: checkpointPath }
      : keepsConnections
        ? { intervalMs: null, keep: 1, path: checkpointPath }
        : null,
  };
}

/** Kahn's algorithm; calls `onCycle` with one cycle when the graph has any. */
export function topoOrder(ids: string[], deps: (id: string) => string[], onCycle: (cycle: string[]) => void): string[] {
  const indeg = new Map(ids.map((id) => [id, 0]));
  const downs = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const id of ids)
    for (const up of deps(id)) {
      if (!indeg.has(up)) continue;
      indeg.set(id, indeg.get(id)! + 1);
      downs.get(up)!.push(id);
    }
  const ready = ids.filter((id) => indeg.get(id) === 0);
  const out: string[] = [];
  while (ready.length) {
    const id = ready.shift()!;
    out.push(id);
    for (const d of downs.get(id)!) {
      indeg.set(d, indeg.get(d)! - 1);
      if (indeg.get(d) === 0) ready.push(d);
    }
  }
  if (out.length < ids.length) {
    // Walk upstream from a node left over until a node repeats: that loop is a cycle.
    const left = new Set(ids.filter((id) => !out.includes(id)));
    let cur = [...left][0]!;
    const path: string[] = [];
    while (!path.includes(cur)) {
      path.push(cur);
      cur = deps(cur).find((u) => left.has(u))!;
    }
    onCycle(path.slice(path.indexOf(cur)).reverse());
  }
  return out;
}

/** Fuses parallel operators into chains: an operator joins the chain of its single upstream when both run in the
 * pool. A chain is a tree rooted at one head, executed as one task per batch on any worker. */
function toPhysical(logical: readonly LogicalNode[], engine: ResolvedEngine): { physical: PhysicalPlan; warnings: string[] } {
  const vertexOf = new Map<string, string>();
  const vertices: (Vertex & { members?: ChainMember[] })[] = [];
  const memberIndex = new Map<string, number>();
  let chains = 0;
  const isParallel = (n: LogicalNode) => n.role === 'operator' && (n.spec as OperatorSpec).execution === 'parallel';
  for (const n of logical) {
    if (n.role === 'source') {
      vertices.push({ type: 'source', id: n.id, node: n });
      vertexOf.set(n.id, n.id);
    } else if (n.role === 'sink') {
      vertices.push({ type: 'sink', id: n.id, node: n });
      vertexOf.set(n.id, n.id);
    } else if ((n.spec as OperatorSpec).execution === 'keyed') {
      const keys = n.inputs.map((_, i) => (n.spec as OperatorSpec).keyBy?.(n.config as never, i) ?? []);
      vertices.push({ type: 'keyed', id: n.id, node: n, parallelism: keys.some((k) => k.length) ? engine.parallelism : 1, keys });
      vertexOf.set(n.id, n.id);
    } else if (!isParallel(n)) {
      vertices.push({ type: 'single', id: n.id, node: n });
      vertexOf.set(n.id, n.id);
    } else {
      const up = n.inputs.length === 1 ? n.inputs[0]! : undefined;
      const upVertex = up ? vertices.find((v) => v.id === vertexOf.get(up.node)) : undefined;
      const member = (from: ChainMember['from']): ChainMember => ({
        nodeId: n.id,
        kind: n.kind,
        rawConfig: n.rawConfig,
        inputSchema: schemaToJson(n.inputSchemas[0]!),
        outputs: Object.fromEntries(Object.entries(n.outputs).map(([p, s]) => [p, schemaToJson(s)])),
        from,
      });
      const spec = n.spec as OperatorSpec;
      const idle = spec.idleTimeoutMs?.(n.config as never);
      if (upVertex?.type === 'chain') {
        upVertex.members!.push(member({ member: memberIndex.get(up!.node)!, port: up!.port }));
        memberIndex.set(n.id, upVertex.members!.length - 1);
        vertexOf.set(n.id, upVertex.id);
        if (spec.generatesWatermarks) Object.assign(upVertex, { generatesWatermarks: true, idleTimeoutMs: idle });
      } else {
        const id = `chain-${++chains}`;
        vertices.push({
          type: 'chain',
          id,
          members: [member({ member: -1, port: 'in' })],
          parallelism: engine.parallelism,
          generatesWatermarks: spec.generatesWatermarks === true,
          idleTimeoutMs: idle,
          inline: false,
        });
        memberIndex.set(n.id, 0);
        vertexOf.set(n.id, id);
      }
    }
  }

  const edges: Edge[] = [];
  const consumed = new Set<string>();
  const inputCounts = new Map<string, number>();
  for (const n of logical) {
    n.inputs.forEach((r) => {
      consumed.add(`${r.node}.${r.port}`);
      const from = vertexOf.get(r.node)!;
      const to = vertexOf.get(n.id)!;
      if (from === to) return; // internal to a chain
      const v = vertices.find((x) => x.id === to)!;
      const input = inputCounts.get(to) ?? 0;
      inputCounts.set(to, input + 1);
      const partitioning: Partitioning = v.type === 'chain' ? 'rebalance' : v.type === 'keyed' && v.parallelism > 1 ? { hash: v.keys[input]! } : 'forward';
      edges.push({ from, port: `${r.node}.${r.port}`, to, input, partitioning, schema: nodeOutput(logical, r) });
    });
  }

  // Dead letters nobody consumes go to the job's dead-letter file: counted and kept, never dropped.
  const warnings: string[] = [];
  const unconsumed: string[] = [];
  const lettered: InputRef[] = [];
  for (const n of logical) {
    for (const port of Object.keys(n.outputs)) {
      const key = `${n.id}.${port}`;
      if (consumed.has(key)) continue;
      if (port === DEAD_LETTER_PORT) {
        edges.push({
          from: vertexOf.get(n.id)!,
          port: key,
          to: DEAD_LETTERS_NODE,
          input: lettered.length,
          partitioning: 'forward',
          schema: DEAD_LETTER_SCHEMA,
        });
        lettered.push({ node: n.id, port });
      } else {
        unconsumed.push(key);
        warnings.push(`output \`${key}\` is not connected: its rows are counted as discarded`);
      }
    }
  }
  if (lettered.length) {
    const cfg = { path: engine.deadLetters };
    const node: LogicalNode = {
      id: DEAD_LETTERS_NODE,
      role: 'sink',
      kind: deadLetterFile.kind,
      spec: deadLetterFile,
      config: cfg,
      rawConfig: cfg,
      inputs: lettered,
      inputSchemas: lettered.map(() => DEAD_LETTER_SCHEMA),
      outputs: {},
      path: null,
    };
    vertices.push({ type: 'sink', id: DEAD_LETTERS_NODE, node, deadLetters: true });
  }

  const specOf = new Map(logical.map((n) => [n.id, n.spec as OperatorSpec]));
  for (const v of vertices) {
    if (v.type !== 'chain') continue;
    const splitsByKey = edges.some((e) => e.from === v.id && typeof e.partitioning === 'object');
    Object.assign(v, { inline: !splitsByKey && v.members!.every((m) => specOf.get(m.nodeId)?.columnsOnly === true) });
  }
  return { physical: Object.freeze({ vertices, edges, unconsumed }), warnings };
}

function nodeOutput(logical: readonly LogicalNode[], r: InputRef): Schema {
  return logical.find((n) => n.id === r.node)!.outputs[r.port]!;
}
