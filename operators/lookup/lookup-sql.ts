/**
 * The SQL `lookup_join` sends, as pure functions: the plan's lookup (a table and key columns, or a query with
 * `$column` parameters) becomes one statement that answers a whole set of keys at once — the keys travel as arrays,
 * are unnested into a derived table, and the lookup runs LATERAL per key, so DuckDB and PostgreSQL plan it as a
 * join (an index or hash lookup) instead of one round trip per row. Each answer row comes back as JSON text with the
 * position of its key, so both databases return the same shape.
 */
import { AbflowError, type ColumnType, quoteIdent, SQL_TYPES, type SqlDialectName } from '../../engine/api.js';

/** The derived table of keys (a name a plan's query is unlikely to use). */
const KEYS = '_abflow_keys';

export interface LookupParam {
  /** The input column the parameter reads. */
  readonly column: string;
  readonly type: ColumnType;
}

export interface LookupStatement {
  /** Parameters in order: `$1` is the key positions (int[]), `$2…` one text array per parameter. */
  readonly params: readonly LookupParam[];
  readonly sql: string;
}

/** `$name` tokens of a query, outside string literals, quoted identifiers and comments, with their offsets. */
export function queryParams(query: string): { name: string; start: number; end: number }[] {
  const found: { name: string; start: number; end: number }[] = [];
  for (let i = 0; i < query.length; i++) {
    const c = query[i]!;
    if (c === "'" || c === '"') {
      // To the closing quote; a doubled quote inside is an escaped one.
      for (i++; i < query.length; i++) {
        if (query[i] !== c) continue;
        if (query[i + 1] !== c) break;
        i++;
      }
    } else if (c === '-' && query[i + 1] === '-') i = query.indexOf('\n', i) < 0 ? query.length : query.indexOf('\n', i);
    else if (c === '/' && query[i + 1] === '*') i = query.indexOf('*/', i) < 0 ? query.length : query.indexOf('*/', i) + 1;
    else if (c === '$') {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)/.exec(query.slice(i));
      if (m) {
        found.push({ name: m[1]!, start: i, end: i + m[0].length });
        i += m[0].length - 1;
      } else if (/^\$\d/.test(query.slice(i)))
        throw new AbflowError('config', 'query parameters are named after input columns ($customer_id), not numbered', { path: ['query'] });
    }
  }
  return found;
}

/**
 * The statement for a lookup. `inputType` gives an input column's type (undefined: no such column).
 * - by key: `SELECT <columns> FROM <table> WHERE <table col> = <key>` for each `on` pair;
 * - by query: the plan's query with each `$column` replaced by that key.
 */
export function lookupStatement(
  dialect: SqlDialectName,
  lookup: { readonly table: string; readonly on: Readonly<Record<string, string>>; readonly select: readonly string[] | null } | { readonly query: string },
  inputType: (column: string) => ColumnType | undefined,
): LookupStatement {
  const params: LookupParam[] = [];
  const ref = (column: string, path: (string | number)[]): string => {
    const type = inputType(column);
    if (!type) throw new AbflowError('config', `the input has no column \`${column}\``, { path });
    let k = params.findIndex((p) => p.column === column);
    if (k < 0) k = params.push({ column, type }) - 1;
    return `${KEYS}.p${k}`;
  };
  let inner: string;
  if ('query' in lookup) {
    let text = '';
    let at = 0;
    for (const p of queryParams(lookup.query)) {
      text += lookup.query.slice(at, p.start) + ref(p.name, ['query']);
      at = p.end;
    }
    inner = text + lookup.query.slice(at);
    if (!params.length)
      throw new AbflowError('config', 'the query uses no input column: name one as $column (e.g. WHERE customer_id = $customer_id)', { path: ['query'] });
  } else {
    const cols = lookup.select ? lookup.select.map((c) => `t.${quoteIdent(c)}`).join(', ') : 't.*';
    const where = Object.entries(lookup.on).map(([input, col]) => `t.${quoteIdent(col)} = ${ref(input, ['on', input])}`);
    inner = `SELECT ${cols} FROM ${lookup.table} t WHERE ${where.join(' AND ')}`;
  }
  const types = SQL_TYPES[dialect];
  const text = dialect === 'duckdb' ? 'VARCHAR' : 'text';
  const keys = [
    `unnest($1::${types.int32}[]) AS i`,
    ...params.map((p, k) => `CAST(unnest($${k + 2}::${text}[]) AS ${types[p.type === 'json' ? 'string' : p.type]}) AS p${k}`),
  ];
  const row = dialect === 'duckdb' ? 'CAST(to_json(q) AS VARCHAR)' : 'row_to_json(q)::text';
  return { params, sql: `SELECT ${KEYS}.i, ${row} AS r FROM (SELECT ${keys.join(', ')}) ${KEYS}, LATERAL (${inner}) q` };
}
