/**
 * @module cli/airbyte-destination
 * abflow as an Airbyte destination: `abflow airbyte spec | check --config C | write --config C --catalog CAT`.
 * `write` reads the sync's AirbyteMessages on stdin and runs a plan on them; every STATE is printed back on stdout,
 * in order, once the records before it are committed, with `destinationStats.recordCount`.
 *
 * The config names the plan (`plan`: a YAML file; `plan_yaml`: inline). Its `airbyte_file` source reading "-" is
 * the sync input; abflow points it at the catalog and turns on the STATE echo. Without a plan, each stream lands in
 * its table of an embedded DuckDB database (`destination_path`), as Airbyte's DuckDB destination does, or of a
 * PostgreSQL database (`warehouse: postgres`): the table is named after the stream, in a schema named after its
 * namespace, with Airbyte's meta columns. Sync modes follow the destination CDK: `overwrite` without generations
 * replaces the table; with `generation_id` the rows of older generations (below `minimum_generation_id`) are deleted
 * once the sync succeeds; `append` appends; `append_dedup` keeps the latest version per primary key by cursor (CDC
 * deletes applied).
 */
import { accessSync, constants, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { type CatalogStream, readCatalog } from '../../connectors/airbyte/catalog.js';
import { traceErrorLine } from '../../connectors/airbyte/protocol.js';
import { pgClientConfig, describePgError, describePgTarget, pgLib } from '../postgres.js';
import { quoteIdent } from '../sql.js';
import { AbflowError, duckdbPrivate, nearestExisting, z } from '../api.js';
import { compilePlan, type CompiledPlan } from '../compile/compile.js';
import { systemClock } from '../time/clock.js';
import { type LoadedPlan, loadPlanFile, loadPlanText } from '../plan/load.js';
import type { Registry } from '../registry.js';

const destinationConfig = z
  .object({
    plan: z.string().min(1).optional().describe('Plan YAML file whose `airbyte_file` source with path "-" receives the sync.'),
    plan_yaml: z.string().min(1).optional().describe('The plan inline (YAML), instead of `plan`.'),
    warehouse: z.enum(['duckdb', 'postgres']).default('duckdb').describe('Without a plan: where the streams are written.'),
    destination_path: z
      .string()
      .min(1)
      .default('/local/abflow.duckdb')
      .describe('Without a plan, warehouse duckdb: the DuckDB database file the streams are written to.'),
    postgres_url: z.string().min(1).optional().describe('Without a plan, warehouse postgres: the connection URL (default: the PG* environment variables).'),
    postgres_schema: z.string().min(1).optional().describe('Without a plan, warehouse postgres: the schema for streams without a namespace (default public).'),
    parallelism: z.number().int().min(1).max(256).optional().describe('Worker threads (default: available cores).'),
  })
  .strict();

type DestinationConfig = z.output<typeof destinationConfig>;

export function specMessage(): string {
  return JSON.stringify({
    type: 'SPEC',
    spec: {
      documentationUrl: 'https://github.com/abflow/abflow#airbyte',
      connectionSpecification: { ...z.toJSONSchema(destinationConfig, { io: 'input' }), title: 'abflow destination' },
      supportsIncremental: true,
      supported_destination_sync_modes: ['append', 'overwrite', 'append_dedup'],
      protocol_version: '0.18.0',
    },
  });
}

export function readDestinationConfig(path: string): DestinationConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new AbflowError('config', `cannot read destination config ${path}: ${(e as Error).message}`);
  }
  const r = destinationConfig.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new AbflowError('config', `destination config ${path}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  if (r.data.plan && r.data.plan_yaml) throw new AbflowError('config', `destination config ${path}: give \`plan\` or \`plan_yaml\`, not both`);
  return r.data;
}

/** The column of a top-level field named by a catalog field path (`primary_key`, `cursor_field`): the field's own
 * name, or the name it got where it collided with another (catalog.ts `columnNames`). */
function topLevel(stream: CatalogStream, what: string, path: unknown): string {
  const p = path as string[];
  if (!Array.isArray(p) || p.length !== 1 || typeof p[0] !== 'string')
    throw new AbflowError('config', `stream ${stream.name}: ${what} ${JSON.stringify(path)} is not a top-level field (nested keys are not supported)`);
  return stream.data.find(([, , key]) => key === p[0])?.[0] ?? p[0];
}

/** The sink config for one stream's sync mode, following the destination CDK (see the module comment). */
function syncModeConfig(stream: CatalogStream, c: Record<string, unknown> | undefined): Record<string, unknown> {
  const name = stream.name;
  const generation = (c?.generation_id as number | null | undefined) ?? null;
  const minimum = (c?.minimum_generation_id as number | null | undefined) ?? null;
  const mode = String(c?.destination_sync_mode ?? 'append');
  const refresh = generation !== null && (mode === 'overwrite' ? true : minimum !== null && minimum > 0 && minimum === generation);
  const generations = refresh ? { keepGenerationsFrom: Math.max(1, minimum ?? generation!) } : {};
  if (mode === 'append_dedup' || mode === 'overwrite_dedup') {
    const keys = (c?.primary_key as unknown[] | undefined) ?? [];
    if (!keys.length) throw new AbflowError('config', `stream ${name}: destination_sync_mode ${mode} needs a primary_key`);
    const cursor = (c?.cursor_field as unknown[] | undefined) ?? [];
    return {
      mode: 'append_dedup',
      primaryKey: keys.map((k) => topLevel(stream, 'primary key', k)),
      // Without a cursor the CDK orders versions by emission time, which is the sink's own tie-breaker.
      ...(cursor.length ? { cursor: topLevel(stream, 'cursor_field', cursor) } : {}),
      ...generations,
    };
  }
  if (mode !== 'append' && mode !== 'overwrite') process.stderr.write(`warning: stream ${name}: destination_sync_mode ${mode} is written as append\n`);
  return { mode: mode === 'overwrite' && generation === null ? 'overwrite' : 'append', ...generations };
}

/** The plan each stream of the catalog goes through into the warehouse, when the config names none. */
function defaultPlan(cfg: DestinationConfig, catalogPath: string): LoadedPlan {
  const streams = readCatalog(catalogPath);
  const sinks = streams.map((s, i) => {
    const schema = s.namespace ?? (cfg.warehouse === 'postgres' ? cfg.postgres_schema : undefined);
    return {
      id: `stream_${i}`,
      kind: cfg.warehouse,
      inputs: [`input.${s.port}`],
      config: {
        ...(cfg.warehouse === 'duckdb' ? { path: cfg.destination_path } : cfg.postgres_url ? { url: cfg.postgres_url } : {}),
        table: s.name,
        ...(schema ? { schema } : {}),
        ...syncModeConfig(s, s.configured ?? undefined),
      },
    };
  });
  const plan = {
    name: 'airbyte_destination',
    engine: { deadLetters: cfg.warehouse === 'duckdb' ? `${cfg.destination_path}.dead_letters.jsonl` : 'abflow.dead_letters.jsonl' },
    sources: [{ id: 'input', kind: 'airbyte_file', config: { path: '-', catalog: catalogPath } }],
    sinks,
  };
  return loadPlanText(stringify(plan), '<destination plan>');
}

/** The plan for a `write`: the configured one (or the default), its stdin source wired to the catalog. */
export function destinationPlan(cfg: DestinationConfig, catalogPath: string): LoadedPlan {
  const loaded = cfg.plan ? loadPlanFile(cfg.plan) : cfg.plan_yaml ? loadPlanText(cfg.plan_yaml, '<plan_yaml>') : defaultPlan(cfg, catalogPath);
  const plan = loaded.value as { sources?: { kind?: string; config?: Record<string, unknown> }[] };
  const inputs = (plan.sources ?? []).filter((s) => s.kind === 'airbyte_file' && s.config?.path === '-');
  if (inputs.length !== 1)
    throw new AbflowError(
      'config',
      `plan ${loaded.file} needs exactly one \`airbyte_file\` source with \`path: "-"\` to receive the sync, found ${inputs.length}`,
    );
  inputs[0]!.config = { ...inputs[0]!.config, catalog: catalogPath, echoStates: true };
  // In destination mode stdout carries the protocol answer (STATEs, TRACEs): no sink may write there.
  const sinks = (loaded.value as { sinks?: { id?: string; kind?: string; config?: { path?: string } }[] }).sinks ?? [];
  const toStdout = sinks.find(
    (s) =>
      ['airbyte_destination', 'jsonl', 'console'].includes(s.kind ?? '') &&
      (s.config?.path ?? '-') === '-' &&
      !(s.config as { command?: unknown } | undefined)?.command,
  );
  if (toStdout)
    throw new AbflowError(
      'config',
      `sink \`${toStdout.id}\` (${toStdout.kind}) writes to stdout, which carries the destination's STATE messages in \`abflow airbyte write\``,
      {
        hint: 'give it a file `path`, or run the plan with `abflow run` in a pipe instead',
      },
    );
  return loaded;
}

export async function compileDestination(configPath: string, catalogPath: string, registry: Registry): Promise<CompiledPlan> {
  const cfg = readDestinationConfig(configPath);
  return compilePlan(destinationPlan(cfg, catalogPath), registry, cfg.parallelism ? { parallelism: cfg.parallelism } : {});
}

/** The DuckDB destination can be written: an existing database opens (it is not another file, nor locked by a
 * running sync), and a new one could be created where its folders would be. Nothing is created. */
async function checkDuckdb(path: string): Promise<void> {
  if (existsSync(path)) {
    (await duckdbPrivate(path)).closeSync();
    return;
  }
  const dir = nearestExisting(dirname(resolve(path)));
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new Error(`cannot create ${path}: ${dir} is not writable`);
  }
  // Permission bits do not tell everything (read-only mounts): a probe file, removed at once.
  const probe = join(dir, `.abflow-check-${process.pid}`);
  try {
    writeFileSync(probe, '');
  } catch (e) {
    throw new Error(`cannot create ${path}: ${(e as Error).message}`);
  } finally {
    rmSync(probe, { force: true });
  }
}

/** The PostgreSQL destination accepts a connection and lets this user create a table in the target schema: tried
 * in a transaction that is rolled back (DDL is transactional in PostgreSQL), so nothing is left. */
async function checkPostgres(cfg: DestinationConfig): Promise<void> {
  const client = new (pgLib().Client)({ ...pgClientConfig({ url: cfg.postgres_url }, 'abflow check'), connectionTimeoutMillis: CHECK_TIMEOUT_MS });
  try {
    await client.connect();
    const schema = quoteIdent(cfg.postgres_schema ?? 'public');
    await client.query('BEGIN');
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`CREATE TABLE ${schema}.${quoteIdent(`_abflow_check_${process.pid}`)} (x integer)`);
  } catch (e) {
    throw new Error(`PostgreSQL ${describePgTarget({ url: cfg.postgres_url })}: ${describePgError(e)}`);
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

const CHECK_TIMEOUT_MS = 10_000;

/** `check`: the config reads, the plan loads, and the warehouse the streams go to (without a plan) is reachable and
 * writable. It leaves nothing behind. */
export async function checkMessage(configPath: string): Promise<string> {
  try {
    const cfg = readDestinationConfig(configPath);
    if (cfg.plan) loadPlanFile(cfg.plan);
    else if (cfg.plan_yaml) loadPlanText(cfg.plan_yaml, '<plan_yaml>');
    else if (cfg.warehouse === 'postgres') await checkPostgres(cfg);
    else await checkDuckdb(cfg.destination_path);
    return JSON.stringify({ type: 'CONNECTION_STATUS', connectionStatus: { status: 'SUCCEEDED' } });
  } catch (e) {
    return JSON.stringify({ type: 'CONNECTION_STATUS', connectionStatus: { status: 'FAILED', message: (e as Error).message } });
  }
}

export function failureTrace(e: unknown): string {
  const message = (e as Error).message;
  return traceErrorLine(
    `abflow destination failed: ${message}`,
    e instanceof AbflowError && e.domain === 'user' ? 'config_error' : 'system_error',
    systemClock.now(),
    (e as Error).stack,
  );
}
