/**
 * @module compile/render
 * Deterministic renderings of a compiled plan: text for `abflow explain` and golden tests, Mermaid for docs.
 */
import type { Schema } from 'apache-arrow';
import { redactSecrets } from '../redact.js';
import { describeSchema } from '../types.js';
import type { CompiledPlan, LogicalNode, Partitioning, Vertex } from './compile.js';
import { schemaFromJson } from './schema-json.js';

function facts(n: LogicalNode): string {
  const d = n.spec.display?.(n.config as never) ?? {};
  const s = redactSecrets(
    Object.entries(d)
      .map(([k, v]) => `${k}=${v}`)
      .join(' '),
  );
  return s ? ` ${s}` : '';
}

function label(n: LogicalNode): string {
  return n.decodedBy ?? n.id;
}

export function renderText(plan: CompiledPlan): string {
  const e = plan.engine;
  const out: string[] = [
    `plan ${plan.name}: parallelism ${e.parallelism}, batch ${e.batchSize} rows, linger ${e.lingerMs}ms, queues ${e.queueCapacity} batches`,
    '',
  ];
  const byId = new Map(plan.nodes.map((n) => [n.id, n]));
  const ports = (id: string, outputs: Record<string, Schema>) => Object.entries(outputs).map(([p, s]) => `    ${id}.${p}: ${describeSchema(s)}`);
  for (const v of plan.physical.vertices) {
    switch (v.type) {
      case 'source':
        out.push(`source ${label(v.node)} [${v.node.kind}]${facts(v.node)}${v.node.decodedBy ? ' (raw lines; decoded in the pool)' : ''}`);
        if (!v.node.decodedBy) out.push(...ports(v.node.id, v.node.outputs));
        break;
      case 'chain': {
        const names = v.members.map((m) => m.nodeId);
        out.push(
          v.inline
            ? `${v.id} on the coordinating thread (columns only), fused: ${names.join(' → ')}`
            : `${v.id} ×${v.parallelism} in the worker pool, fused: ${names.join(' → ')}`,
        );
        for (const m of v.members) {
          const n = byId.get(m.nodeId)!;
          const from = m.from.member < 0 ? 'chain input' : `${v.members[m.from.member]!.nodeId}.${m.from.port}`;
          out.push(`  ${m.nodeId} [${m.kind}]${facts(n)}  ← ${from}`);
          out.push(...Object.entries(m.outputs).map(([p, s]) => `    ${m.nodeId}.${p}: ${describeSchema(schemaFromJson(s))}`));
        }
        break;
      }
      case 'keyed':
        out.push(
          `operator ${v.node.id} [${v.node.kind}]${facts(v.node)} keyed by ${v.keys.map((k) => `(${k.join(', ')})`).join(' / ')} ×${v.parallelism} partitions`,
        );
        out.push(...ports(v.node.id, v.node.outputs));
        break;
      case 'single':
        out.push(`operator ${v.node.id} [${v.node.kind}]${facts(v.node)} (coordinator thread)`);
        out.push(...ports(v.node.id, v.node.outputs));
        break;
      case 'sink':
        out.push(
          v.deadLetters
            ? `dead_letters → ${(v.node.config as { path: string }).path} (dead letters no sink receives)`
            : `sink ${v.node.id} [${v.node.kind}]${facts(v.node)}`,
        );
        break;
    }
  }
  out.push('', 'edges:');
  for (const edge of plan.physical.edges) out.push(`  ${edge.port} ─${partitioningText(edge.partitioning)}→ ${edge.to}  (${describeSchema(edge.schema)})`);
  if (plan.physical.unconsumed.length) out.push('', `discarded (not connected): ${plan.physical.unconsumed.join(', ')}`);
  return out.join('\n') + '\n';
}

export function partitioningText(p: Partitioning): string {
  return typeof p === 'string' ? p : `hash(${p.hash.join(', ')})`;
}

function mid(id: string): string {
  return id.replace(/[^A-Za-z0-9_]/g, '_');
}

export function renderMermaid(plan: CompiledPlan): string {
  const out = ['flowchart LR'];
  const vertexLabel = (v: Vertex) =>
    v.type === 'sink' && v.deadLetters ? 'dead letters file' : v.type === 'chain' ? v.id : `${label(v.node)}<br/>${v.node.kind}`;
  for (const v of plan.physical.vertices) {
    if (v.type === 'chain') {
      out.push(`  subgraph ${mid(v.id)}["${v.id} ${v.inline ? 'on the coordinating thread' : `×${v.parallelism}`} (fused)"]`);
      v.members.forEach((m, i) => {
        out.push(`    ${mid(m.nodeId)}["${m.nodeId}<br/>${m.kind}"]`);
        if (i > 0) out.push(`    ${mid(v.members[m.from.member]!.nodeId)} -->|${m.from.port}| ${mid(m.nodeId)}`);
      });
      out.push('  end');
    } else {
      const shape = v.type === 'source' ? ['([', '])'] : v.type === 'sink' ? ['[(', ')]'] : ['[', ']'];
      out.push(`  ${mid(v.id)}${shape[0]}"${vertexLabel(v)}"${shape[1]}`);
    }
  }
  const target = (e: { to: string }, plan: CompiledPlan) => {
    const v = plan.physical.vertices.find((x) => x.id === e.to)!;
    return v.type === 'chain' ? mid(v.members[0]!.nodeId) : mid(v.id);
  };
  for (const e of plan.physical.edges) {
    const [node, port] = e.port.split('.') as [string, string];
    const fromV = plan.physical.vertices.find((x) => x.id === e.from)!;
    const from = fromV.type === 'chain' ? mid(node) : mid(fromV.id);
    out.push(`  ${from} -->|"${port} (${partitioningText(e.partitioning)})"| ${target(e, plan)}`);
  }
  return out.join('\n') + '\n';
}
