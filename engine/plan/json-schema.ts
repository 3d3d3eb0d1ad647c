/**
 * @module plan/json-schema
 * plans/plan.schema.json from the zod schemas: the plan document, with each node's `config` typed by its `kind`
 * (one branch per registered kind), so editors complete and check plans.
 */
import { z } from 'zod';
import type { Registry } from '../registry.js';
import { engineOptions, inputRef, nodeId } from './schema.js';

type Json = Record<string, unknown>;

export function toJson(schema: z.ZodType): Json {
  const j = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json;
  delete j.$schema;
  return j;
}

function nodeBranches(registry: Registry, role: 'source' | 'operator' | 'sink', withInputs: boolean): Json {
  return {
    type: 'array',
    items: {
      anyOf: registry
        .list()
        .filter((s) => s.role === role)
        .sort((a, b) => a.kind.localeCompare(b.kind))
        .map((s) => ({
          type: 'object',
          description: s.summary,
          properties: {
            id: toJson(nodeId),
            kind: { const: s.kind, description: s.summary },
            description: { type: 'string' },
            ...(withInputs ? { inputs: { type: 'array', items: toJson(inputRef) } } : {}),
            config: toJson(s.config),
          },
          required: withInputs ? ['id', 'kind', 'inputs'] : ['id', 'kind'],
          additionalProperties: false,
        })),
    },
  };
}

export function planJsonSchema(registry: Registry): Json {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'abflow plan',
    type: 'object',
    properties: {
      $schema: { type: 'string' },
      name: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_-]*$', description: 'Job name: names output files and checkpoints.' },
      description: { type: 'string' },
      engine: toJson(engineOptions),
      plugins: { type: 'array', items: { type: 'string' }, description: 'Modules exporting `abflowComponents`, relative to the plan file.' },
      sources: nodeBranches(registry, 'source', false),
      operators: nodeBranches(registry, 'operator', true),
      sinks: nodeBranches(registry, 'sink', true),
    },
    required: ['name', 'sources', 'sinks'],
    additionalProperties: false,
  };
}
