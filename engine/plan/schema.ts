/**
 * @module plan/schema
 * The plan document, as zod schemas: the single source of truth for plan validation, the `PlanSpec` type and
 * plans/plan.schema.json. Each node's `config` is validated in a second pass against its kind's own schema.
 */
import { z } from 'zod';
import { DEFAULTS } from '../config/defaults.js';
import { duration } from './duration.js';

const ID = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export const nodeId = z
  .string()
  .regex(ID, 'ids use letters, digits, _ and -, and start with a letter or _')
  .describe('Unique id of this node; other nodes refer to it in `inputs`.');

export const inputRef = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)?$/, 'an input is `node` or `node.port`')
  .describe('`node` (its default `out` port) or `node.port`, e.g. `route.high` or `parse.dead_letter`.');

export const engineOptions = z
  .object({
    parallelism: z
      .union([z.number().int().min(1).max(256), z.literal('auto')])
      .default('auto')
      .describe('Worker threads for parallel operator chains; `auto` = available cores.'),
    inline: z
      .boolean()
      .default(false)
      .describe(
        'Run every operator on the main thread, one batch at a time, with no worker threads (keyed state is still split into `parallelism` partitions): for debugging with breakpoints, one-thread profiles and the smallest containers. Slower on several cores.',
      ),
    batchSize: z.number().int().min(1).max(1_000_000).default(DEFAULTS.batchSize).describe('Rows per source batch.'),
    linger: duration().default(DEFAULTS.lingerMs).describe('Longest a source holds a partial batch, e.g. "50ms".'),
    queueCapacity: z
      .number()
      .int()
      .min(1)
      .max(4096)
      .default(DEFAULTS.queueCapacity)
      .describe('Batches buffered per edge; a full queue makes its producer wait (backpressure).'),
    deadLetters: z.string().optional().describe(`File for dead letters that no sink in the plan receives (default "${DEFAULTS.deadLetterPath}").`),
    maxDeadLetterRatio: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe(
        'Fail the run when more than this share of the rows read became dead letters (checked as rows arrive from 1 000 rows on, and when the run ends); default: no limit.',
      ),
    checkpoint: z
      .object({
        interval: duration().describe('How often to checkpoint, e.g. "1s".'),
        keep: z.number().int().min(1).max(100).default(3).describe('Complete checkpoints to keep.'),
        path: z.string().optional().describe(`Checkpoint database file (default "${DEFAULTS.checkpointPath}").`),
      })
      .strict()
      .optional()
      .describe('Take checkpoints for exactly-once recovery: a restarted run resumes from the latest complete one.'),
  })
  .strict();

const description = z.string().optional().describe('Free text for humans.');
const config = z.unknown().optional().describe("The component's configuration; see its kind's documentation.");

export const sourceNode = z.object({ id: nodeId, kind: z.string().describe('Source kind.'), description, config }).strict();

export const operatorNode = z
  .object({
    id: nodeId,
    kind: z.string().describe('Operator kind.'),
    description,
    inputs: z.array(inputRef).optional().describe('Upstream nodes (or node.port) feeding this operator.'),
    config,
  })
  .strict();

export const sinkNode = z
  .object({
    id: nodeId,
    kind: z.string().describe('Sink kind.'),
    description,
    inputs: z.array(inputRef).optional().describe('Upstream nodes (or node.port) written by this sink.'),
    config,
  })
  .strict();

export const planSchema = z
  .object({
    $schema: z.string().optional(),
    name: z.string().regex(ID, 'plan names use letters, digits, _ and -').describe('Job name: names output files and checkpoints.'),
    description,
    engine: engineOptions.prefault({}),
    plugins: z
      .array(z.string().min(1))
      .default([])
      .describe('Modules exporting `abflowComponents` (custom operators, sources, sinks), relative to the plan file.'),
    sources: z.array(sourceNode).min(1, 'a plan needs at least one source'),
    operators: z.array(operatorNode).default([]),
    sinks: z.array(sinkNode).min(1, 'a plan needs at least one sink'),
  })
  .strict();

export type PlanSpec = z.output<typeof planSchema>;
export type EngineOptions = z.output<typeof engineOptions>;
