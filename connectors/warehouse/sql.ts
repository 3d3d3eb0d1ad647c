/**
 * The SQL that warehouse sinks (duckdb, postgres) share: how abflow types map to each dialect, how an existing table
 * is evolved to take a new input schema, and the statements that commit staged rows in each sync mode. Pure functions
 * of names and types, so both sinks run the same semantics and the rules are testable without a database.
 */
import { type ColumnType, quoteIdent, SQL_TYPES } from '../../engine/api.js';

export interface Dialect {
  readonly name: 'duckdb' | 'postgres';
  readonly types: Readonly<Record<ColumnType, string>>;
  /** The abflow type of a column as the catalog (`information_schema.columns.data_type`) reports it. */
  columnType(dataType: string): ColumnType | undefined;
  alterType(table: string, column: string, type: ColumnType): string;
  /** How a staging table that need not survive a crash is declared, and where it lives when not beside its target:
   * DuckDB keeps it in an in-memory database the warehouse attaches (shared by the instance's connections, never
   * written to the WAL; `schema` is its default schema), PostgreSQL makes it UNLOGGED (no WAL, emptied by crash
   * recovery). */
  readonly transientStage: { readonly keyword: string; readonly catalog?: string; readonly schema?: string };
}

/** Catalog spellings of each type (DuckDB reports `TIMESTAMP WITH TIME ZONE`, PostgreSQL `character varying`, ...). */
const CATALOG_NAMES: Record<string, ColumnType> = {
  boolean: 'bool',
  integer: 'int32',
  int: 'int32',
  int4: 'int32',
  smallint: 'int32',
  tinyint: 'int32',
  bigint: 'int64',
  int8: 'int64',
  double: 'float64',
  'double precision': 'float64',
  real: 'float64',
  float: 'float64',
  varchar: 'string',
  text: 'string',
  'character varying': 'string',
  character: 'string',
  json: 'json',
  jsonb: 'json',
  'timestamp with time zone': 'timestamp',
  timestamptz: 'timestamp',
  'timestamp without time zone': 'timestamp',
  timestamp: 'timestamp',
  date: 'date',
};

const columnType = (dataType: string): ColumnType | undefined => CATALOG_NAMES[dataType.toLowerCase()];

export const DUCKDB: Dialect = {
  name: 'duckdb',
  types: SQL_TYPES.duckdb,
  columnType,
  alterType: (table, column, type) => `ALTER TABLE ${table} ALTER COLUMN ${quoteIdent(column)} TYPE ${SQL_TYPES.duckdb[type]}`,
  transientStage: { keyword: '', catalog: 'abflow_stage', schema: 'main' },
};

export const POSTGRES: Dialect = {
  name: 'postgres',
  types: SQL_TYPES.postgres,
  columnType,
  alterType: (table, column, type) =>
    `ALTER TABLE ${table} ALTER COLUMN ${quoteIdent(column)} TYPE ${SQL_TYPES.postgres[type]} USING ${quoteIdent(column)}::${SQL_TYPES.postgres[type]}`,
  transientStage: { keyword: 'UNLOGGED' },
};

const INTEGERS: readonly ColumnType[] = ['int32', 'int64'];

/**
 * The narrowest type holding every value of both `a` and `b` without loss of meaning: int32 → int64 → float64
 * (Airbyte's `number`), date → timestamp, and text for anything else (every value has a text form). Only these
 * widenings are applied to an existing table; a column is never narrowed.
 */
export function widen(a: ColumnType, b: ColumnType): ColumnType {
  if (a === b) return a;
  if (INTEGERS.includes(a) && INTEGERS.includes(b)) return 'int64';
  if ((INTEGERS.includes(a) || a === 'float64') && (INTEGERS.includes(b) || b === 'float64')) return 'float64';
  if ((a === 'date' && b === 'timestamp') || (a === 'timestamp' && b === 'date')) return 'timestamp';
  return 'string';
}

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
}

export interface Evolution {
  readonly add: Column[];
  /** Existing columns whose type must widen to take the input. */
  readonly widen: Column[];
  /** The table's columns after evolving, in table order; columns the input lacks stay and get NULL. */
  readonly columns: Column[];
}

/**
 * How an existing table (`existing`, from the catalog; `undefined` types are ones abflow does not model and leaves
 * alone) must change to take rows of `input`. Column names match exactly, as quoted identifiers do.
 */
export function evolve(existing: readonly { name: string; type: ColumnType | undefined }[], input: readonly Column[]): Evolution {
  const byName = new Map(existing.map((c) => [c.name, c]));
  const add: Column[] = [];
  const widened: Column[] = [];
  const columns: Column[] = existing.map((c) => ({ name: c.name, type: c.type ?? 'string' }));
  for (const col of input) {
    const have = byName.get(col.name);
    if (!have) {
      add.push(col);
      columns.push(col);
    } else if (have.type !== undefined) {
      const t = widen(have.type, col.type);
      if (t !== have.type) {
        widened.push({ name: col.name, type: t });
        columns[columns.findIndex((c) => c.name === col.name)] = { name: col.name, type: t };
      }
    }
  }
  return { add, widen: widened, columns };
}

/** Where a table is: its catalog (DuckDB's attached database), schema and name, unquoted. */
export interface TableLocation {
  readonly catalog?: string | undefined;
  readonly schema?: string | undefined;
  readonly table: string;
}

export function tableRef(at: TableLocation): string {
  return [at.catalog, at.schema, at.table]
    .filter((p) => p !== undefined)
    .map((p) => quoteIdent(p!))
    .join('.');
}

/** `keyword`: a table kind such as UNLOGGED, for a stage that need not survive a crash (see Dialect.transientStage). */
export function createTableSql(dialect: Dialect, table: string, columns: readonly Column[], ifNotExists = true, keyword = ''): string {
  const cols = columns.map((c) => `${quoteIdent(c.name)} ${dialect.types[c.type]}`).join(', ');
  return `CREATE ${keyword ? `${keyword} ` : ''}TABLE ${ifNotExists ? 'IF NOT EXISTS ' : ''}${table} (${cols})`;
}

/** What a commit needs to know about the target table and the sync mode. */
export interface CommitShape {
  readonly dialect: Dialect;
  readonly target: string;
  readonly stage: string;
  /** Tombstones of deleted keys (dedup mode with `_ab_cdc_deleted_at`): an older change arriving later loses. */
  readonly tombstones: string;
  readonly batch: string;
  /** Input columns with the table type each is written as. */
  readonly input: readonly { name: string; from: ColumnType; to: ColumnType }[];
  readonly dedup?: {
    readonly primaryKey: readonly string[];
    readonly cursor?: string;
    /** Airbyte's tie-breaker after the cursor, when the input has it. */
    readonly extractedAt?: string;
    readonly deletedAt?: string;
    /** A CDC truncate marker (`_ab_cdc_truncated_at` set) removes every row with an older `_ab_cdc_lsn`. */
    readonly truncatedAt?: string;
  };
}

export const EPOCH_COLUMN = '_abflow_epoch';
const LSN = quoteIdent('_ab_cdc_lsn');
export const SEQ_COLUMN = '_abflow_seq';

/** Columns of the tombstone table: the key, and what orders versions. */
export function tombstoneColumns(shape: CommitShape): Column[] {
  const d = shape.dedup!;
  const names = [...d.primaryKey, ...(d.cursor ? [d.cursor] : []), ...(d.extractedAt ? [d.extractedAt] : [])];
  return names.map((n) => ({ name: n, type: shape.input.find((c) => c.name === n)!.to }));
}

/** The staged epochs a commit moves: those after the last committed one, up to the checkpoint being committed. */
export interface EpochRange {
  readonly after: number;
  readonly upTo: number;
}

/** The condition selecting a range's staged rows. */
export function stagedRows(range: EpochRange): string {
  return `${EPOCH_COLUMN} > ${range.after} AND ${EPOCH_COLUMN} <= ${range.upTo}`;
}

/**
 * Statements that move the staged rows of `epochs` into the target table, run inside the commit transaction.
 *
 * `append`/`overwrite` insert them. `append_dedup` follows Airbyte's typing-and-deduping rules: per primary key the
 * latest version wins, ordered by cursor (a null cursor is oldest), then `_airbyte_extracted_at`, then arrival; a
 * version older than the table's row, or than a remembered deletion, is ignored; a version with
 * `_ab_cdc_deleted_at` set removes the row and is remembered as a tombstone. Null key values are equal to each other
 * (Airbyte's null-safe matching). The merge is written as delete + insert so it runs alike in DuckDB and PostgreSQL
 * and also collapses duplicates a table may hold from an earlier append.
 *
 * `nullSafe` picks `IS NOT DISTINCT FROM` for key matching; PostgreSQL can only hash-join or index `=`, so the
 * caller asks for null-safe matching only when a staged key actually holds a null.
 */
export function commitStatements(shape: CommitShape, epochs: EpochRange, nullSafe: boolean): string[] {
  const { target, stage, input } = shape;
  const cols = input.map((c) => quoteIdent(c.name)).join(', ');
  const cast = (c: (typeof input)[number]) =>
    c.from === c.to ? quoteIdent(c.name) : `CAST(${quoteIdent(c.name)} AS ${shape.dialect.types[c.to]}) AS ${quoteIdent(c.name)}`;
  const staged = `${stage} WHERE ${stagedRows(epochs)}`;
  if (!shape.dedup) return [`INSERT INTO ${target} (${cols}) SELECT ${input.map(cast).join(', ')} FROM ${staged}`];

  const { primaryKey, cursor, extractedAt, deletedAt, truncatedAt } = shape.dedup;
  const key = primaryKey.map(quoteIdent);
  const order = [
    ...(cursor ? [`${quoteIdent(cursor)} DESC NULLS LAST`] : []),
    ...(extractedAt ? [`${quoteIdent(extractedAt)} DESC NULLS LAST`] : []),
    `${EPOCH_COLUMN} DESC`,
    `${SEQ_COLUMN} DESC`,
  ].join(', ');
  const eq = (a: string, b: string) => key.map((k) => (nullSafe ? `${a}.${k} IS NOT DISTINCT FROM ${b}.${k}` : `${a}.${k} = ${b}.${k}`)).join(' AND ');
  // "o holds a strictly newer version than b": incoming rows win ties, so a replayed row simply rewrites itself.
  const newer = (o: string, b: string): string => {
    const terms: string[] = [];
    let same = '';
    if (cursor) {
      const c = quoteIdent(cursor);
      terms.push(`${o}.${c} > ${b}.${c}`, `(${o}.${c} IS NOT NULL AND ${b}.${c} IS NULL)`);
      same = `${o}.${c} IS NOT DISTINCT FROM ${b}.${c} AND `;
    }
    if (extractedAt) terms.push(`(${same}${o}.${quoteIdent(extractedAt)} > ${b}.${quoteIdent(extractedAt)})`);
    return terms.length ? `(${terms.join(' OR ')})` : 'FALSE';
  };
  const b = shape.batch;
  const versions = truncatedAt ? `${staged} AND ${quoteIdent(truncatedAt)} IS NULL` : staged;
  const statements = [
    `CREATE TEMP TABLE ${b} AS SELECT * FROM (SELECT ${input.map(cast).join(', ')}, row_number() OVER (PARTITION BY ${key.join(', ')} ORDER BY ${order}) AS _abflow_rn FROM ${versions}) q WHERE _abflow_rn = 1`,
    `DELETE FROM ${b} WHERE EXISTS (SELECT 1 FROM ${target} o WHERE ${eq('o', b)} AND ${newer('o', b)})`,
  ];
  if (deletedAt) statements.push(`DELETE FROM ${b} WHERE EXISTS (SELECT 1 FROM ${shape.tombstones} o WHERE ${eq('o', b)} AND ${newer('o', b)})`);
  statements.push(`DELETE FROM ${target} WHERE EXISTS (SELECT 1 FROM ${b} WHERE ${eq(target, b)})`);
  if (deletedAt) {
    const tomb = tombstoneColumns(shape)
      .map((c) => quoteIdent(c.name))
      .join(', ');
    const deleted = quoteIdent(deletedAt);
    statements.push(
      `DELETE FROM ${shape.tombstones} WHERE EXISTS (SELECT 1 FROM ${b} WHERE ${eq(shape.tombstones, b)})`,
      `INSERT INTO ${target} (${cols}) SELECT ${cols} FROM ${b} WHERE ${deleted} IS NULL`,
      `INSERT INTO ${shape.tombstones} (${tomb}) SELECT ${tomb} FROM ${b} WHERE ${deleted} IS NOT NULL`,
    );
  } else statements.push(`INSERT INTO ${target} (${cols}) SELECT ${cols} FROM ${b}`);
  if (truncatedAt) {
    const truncation = `(SELECT max(${LSN}) FROM ${staged} AND ${quoteIdent(truncatedAt)} IS NOT NULL)`;
    statements.push(`DELETE FROM ${target} WHERE ${truncation} IS NOT NULL AND (${LSN} < ${truncation} OR ${LSN} IS NULL)`);
  }
  statements.push(`DROP TABLE ${b}`);
  return statements;
}
