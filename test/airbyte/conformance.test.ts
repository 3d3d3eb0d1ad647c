/**
 * The Airbyte conformance suite: every message file of shared/fixtures/airbyte, and a recording per fidelity class
 * (recordings.ts), through the three ways abflow sits in a sync —
 *   A. `abflow airbyte write` into DuckDB with the typed catalog,
 *   B. `abflow airbyte write` into DuckDB with a minimal, schemaless configured catalog,
 *   C. `airbyte_file` → `airbyte_destination` (a plan that changes nothing).
 * Checked: STATEs come back in order and byte-identical (only the stats member added), with stats that add up to
 * what was received and rejected; every accepted record's values in the table equal the input's (timestamps as
 * instants, to the microsecond); pass-through records byte-identical to the input.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { columnNames, columnTypeForJsonSchema, META_COLUMNS, RECORD_TEXT } from '../../connectors/airbyte/catalog.js';
import { abflow, HAS_SHARED, tempDir } from '../kit/cli.js';
import { query } from '../kit/duckdb.js';
import { AIRBYTE_FIXTURES, writeRecordings } from './recordings.js';

interface Stream {
  name: string;
  namespace?: string;
  json_schema?: { properties?: Record<string, Record<string, unknown>> };
}

interface Line {
  readonly n: number;
  readonly text: string;
  readonly msg: {
    type?: string;
    record?: { stream: string; namespace?: string; data: Record<string, unknown>; meta?: { changes?: { field: string; change: string }[] } };
    state?: unknown;
  } | null;
}

function linesOf(file: string): Line[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((text, i) => {
      const t = text.endsWith('\r') ? text.slice(0, -1) : text;
      try {
        return { n: i + 1, text: t, msg: JSON.parse(t) as Line['msg'] };
      } catch {
        return { n: i + 1, text: t, msg: null };
      }
    })
    .filter((l) => l.text.trim() !== '');
}

function streamsOf(catalog: string): Stream[] {
  const doc = JSON.parse(readFileSync(catalog, 'utf8')) as { streams: ({ stream: Stream } | Stream)[] };
  return doc.streams.map((s) => ('stream' in s ? s.stream : s));
}

const deadPositions = (file: string): number[] =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { position: number }).position)
    : [];

/** The stream a message counts for: a RECORD's stream (a line cut short still names it in its first bytes), or
 * none. */
function streamOf(l: Line): string | null {
  if (l.msg?.type === 'RECORD' && typeof l.msg.record?.stream === 'string') return `${l.msg.record.namespace ?? ''}\u0000${l.msg.record.stream}`;
  if (l.msg) return null;
  const m = /^\{"type":\s*"RECORD",\s*"record":\s*\{"stream":\s*"([^"\\]*)"/.exec(l.text);
  return m && !l.text.includes('"namespace"') ? `\u0000${m[1]}` : null;
}

/** Destination mode: the STATE lines out must be the STATE lines in, each with only `destinationStats` added. Its
 * counts are the messages received since the previous STATE of its scope and the rejected ones among them — per
 * stream for STREAM states, all messages for GLOBAL and LEGACY (Airbyte's destination CDK; its acceptance test's
 * strict mode counts all messages, which is the same for one stream). */
function checkStates(input: Line[], stdout: string, rejected: readonly number[]): void {
  const out = stdout.split('\n').filter((l) => l.includes('"STATE"'));
  const expected: { text: string; count: number; rejected: number }[] = [];
  let pending: { stream: string | null; rejected: boolean }[] = [];
  for (const l of input) {
    if (l.msg?.type === 'STATE') {
      const st = l.msg.state as { type?: string; stream?: { stream_descriptor: { name: string; namespace?: string } } };
      const scope = st.type === 'STREAM' && st.stream ? `${st.stream.stream_descriptor.namespace ?? ''}\u0000${st.stream.stream_descriptor.name}` : null;
      const covered = pending.filter((p) => scope === null || p.stream === scope);
      pending = scope === null ? [] : pending.filter((p) => p.stream !== scope);
      expected.push({ text: l.text, count: covered.length, rejected: covered.filter((p) => p.rejected).length });
    } else if (l.msg?.type !== 'TRACE') pending.push({ stream: streamOf(l), rejected: rejected.includes(l.n) });
  }
  expect(out.length).toBe(expected.length);
  out.forEach((line, i) => {
    const stats = /,"destinationStats":(\{[^}]*\})/.exec(line);
    expect(stats, line).not.toBeNull();
    expect(line.replace(stats![0], '')).toBe(expected[i]!.text);
    const { recordCount, rejectedRecordCount = 0 } = JSON.parse(stats![1]!) as { recordCount: number; rejectedRecordCount?: number };
    expect([recordCount, rejectedRecordCount], line).toEqual([expected[i]!.count, expected[i]!.rejected]);
  });
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The instant an ISO 8601 text names (ms), or null when it names no real date and time. Independent of abflow's
 * parser: Date.parse (which rolls impossible dates over and maps no zone to local time) behind a calendar check. */
function instant(s: string): number | null {
  const m = /^([+-]?\d{4,6})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2}|[+-]\d{2})?$/.exec(s.trim());
  if (!m) return null;
  const [y, mo, d, h = 0, mi = 0, se = 0] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((x) => (x === undefined ? undefined : Number(x))) as number[];
  const leap = y! % 4 === 0 && (y! % 100 !== 0 || y! % 400 === 0);
  if (mo! < 1 || mo! > 12 || d! < 1 || d! > DAYS[mo! - 1]! + (mo === 2 && leap ? 1 : 0) || h > 23 || mi > 59 || se > 59) return null;
  const year = y! >= 0 && y! <= 9999 ? String(y).padStart(4, '0') : `${y! < 0 ? '-' : '+'}${String(Math.abs(y!)).padStart(6, '0')}`;
  const frac = (m[7] ?? '.0').slice(0, 4).padEnd(4, '0');
  let zone = m[8] ?? 'Z';
  if (/^[+-]\d{2}$/.test(zone)) zone += ':00';
  else if (/^[+-]\d{4}$/.test(zone)) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const p2 = (v: number) => String(v).padStart(2, '0');
  return Date.parse(`${year}-${p2(mo!)}-${p2(d!)}T${p2(h)}:${p2(mi)}:${p2(se)}${frac}${zone}`);
}

/** A table cell against the record's value under the column's type; a NULL is right only for a missing or null
 * value, or where `_airbyte_meta` says the value was NULLED. */
function expectCell(type: string, value: unknown, raw: string | undefined, cell: unknown, nulled: boolean, where: string): void {
  if (value === null || value === undefined) return void expect(cell, where).toBeNull();
  if (cell === null) return void expect(nulled, `${where}: NULL without a NULLED change`).toBe(true);
  expect(nulled, `${where}: a value and a NULLED change`).toBe(false);
  switch (type) {
    case 'string':
      return void expect(cell, where).toBe(typeof value === 'string' ? value : raw);
    case 'json':
      return void expect(JSON.parse(cell as string), where).toEqual(value);
    case 'int64':
    case 'int32':
      return void expect(BigInt(cell as string), where).toBe(BigInt(typeof value === 'string' ? value.trim() : raw!));
    case 'float64':
      return void expect(Number(cell), where).toBe(Number(value));
    case 'bool':
      return void expect(cell, where).toBe(value);
    case 'date':
      return void expect(instant(`${cell as string}T00:00:00Z`), where).toBe(instant(`${value as string}T00:00:00Z`));
    case 'timestamp': {
      const sub = /:\d{2}\.\d{3}(\d{1,3})/.exec(value as string)?.[1] ?? '';
      return void expect(BigInt(cell as string), where).toBe(BigInt(instant(value as string)!) * 1000n + BigInt(sub.padEnd(3, '0') || '0'));
    }
  }
}

function writeDestination(dir: string, messages: string, catalog: string) {
  const db = join(dir, 'out.duckdb');
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ destination_path: db }));
  const r = abflow(['airbyte', 'write', '--config', join(dir, 'config.json'), '--catalog', catalog], { input: readFileSync(messages, 'utf8') });
  expect(r.code, r.stderr).toBe(0);
  return { r, db, rejected: deadPositions(`${db}.dead_letters.jsonl`) };
}

const tableOf = (s: Stream) => `${s.namespace ? `"${s.namespace.replace(/"/g, '""')}".` : ''}"${s.name.replace(/"/g, '""')}"`;

async function pathA(messages: string, catalog: string): Promise<void> {
  const dir = tempDir();
  const input = linesOf(messages);
  const { r, db, rejected } = writeDestination(dir, messages, catalog);
  checkStates(input, r.stdout, rejected);
  // Every rejected line has its TRACE error.
  const traces = r.stdout
    .split('\n')
    .filter((l) => l.includes('"TRACE"'))
    .map((l) => Number(/line (\d+) was rejected/.exec(l)?.[1]));
  expect(traces).toEqual(rejected);
  for (const s of streamsOf(catalog)) {
    const props = Object.entries(s.json_schema?.properties ?? {});
    if (!props.length) continue;
    const columns = columnNames(
      props.map(([k]) => k),
      [...Object.keys(META_COLUMNS), RECORD_TEXT],
    );
    const types = props.map(([, p]) => columnTypeForJsonSchema(p));
    const ident = (c: string) => `"${c.replace(/"/g, '""')}"`;
    const select = columns.map((c, i) => (types[i] === 'timestamp' ? `epoch_us(${ident(c)})::VARCHAR` : `${ident(c)}::VARCHAR`) + ` AS "c${i}"`).join(', ');
    const rows = await query(db, `SELECT ${select}, _airbyte_meta::VARCHAR AS meta FROM ${tableOf(s)} ORDER BY rowid`);
    const sent = input.filter(
      (l) =>
        !rejected.includes(l.n) &&
        l.msg?.type === 'RECORD' &&
        l.msg.record!.stream === s.name &&
        (l.msg.record!.namespace ?? undefined) === (s.namespace ?? undefined),
    );
    expect(rows.length, s.name).toBe(sent.length);
    sent.forEach((l, row) => {
      const data = l.msg!.record!.data;
      const changes = (JSON.parse(rows[row]!.meta as string) as { changes: { field: string; change: string }[] }).changes;
      for (const c of l.msg!.record!.meta?.changes ?? []) expect(changes, `line ${l.n}: the source's meta changes`).toContainEqual(expect.objectContaining(c));
      props.forEach(([key], i) => {
        const rawSpan = JSON.stringify(data[key]);
        const raw = new RegExp(`${JSON.stringify(key).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*:\\s*(-?[0-9.eE+-]+)`).exec(l.text)?.[1] ?? rawSpan;
        const cell = types[i] === 'bool' && rows[row]![`c${i}`] !== null ? rows[row]![`c${i}`] === 'true' : rows[row]![`c${i}`];
        expectCell(
          types[i]!,
          data[key],
          raw,
          cell,
          changes.some((c) => c.field === key && c.change === 'NULLED'),
          `${s.name} line ${l.n} ${key}`,
        );
      });
      for (const [key, to] of props.map(([k], i) => [k, columns[i]!]).filter(([k, c]) => k !== c))
        expect(changes, `line ${l.n}: rename of ${key}`).toContainEqual(expect.objectContaining({ field: key, change: 'RENAMED', column: to }));
    });
  }
}

async function pathB(messages: string, catalog: string): Promise<void> {
  const dir = tempDir();
  const minimal = join(dir, 'minimal.json');
  const streams = streamsOf(catalog);
  writeFileSync(
    minimal,
    JSON.stringify({
      streams: streams.map((s) => ({ stream: { name: s.name, ...(s.namespace ? { namespace: s.namespace } : {}) }, destination_sync_mode: 'append' })),
    }),
  );
  const input = linesOf(messages);
  const { r, db, rejected } = writeDestination(dir, messages, minimal);
  checkStates(input, r.stdout, rejected);
  for (const s of streams) {
    const rows = await query(db, `SELECT _airbyte_data::VARCHAR AS d FROM ${tableOf(s)} ORDER BY rowid`);
    const sent = input.filter(
      (l) =>
        !rejected.includes(l.n) &&
        l.msg?.type === 'RECORD' &&
        l.msg.record!.stream === s.name &&
        (l.msg.record!.namespace ?? undefined) === (s.namespace ?? undefined),
    );
    expect(rows.length, s.name).toBe(sent.length);
    sent.forEach((l, row) => {
      const d = rows[row]!.d as string;
      // The whole `data` object, byte for byte as the source wrote it.
      expect(l.text.includes(d), `line ${l.n}: _airbyte_data is the data text as sent`).toBe(true);
      expect(JSON.parse(d)).toEqual(l.msg!.record!.data);
    });
  }
}

function pathC(messages: string, catalog: string): void {
  const dir = tempDir();
  const streams = streamsOf(catalog);
  const ports = streams
    .map((s) => (streams.filter((t) => t.name === s.name).length > 1 && s.namespace ? `${s.namespace}_${s.name}` : s.name).replace(/[^A-Za-z0-9_-]/g, '_'))
    .map((p) => (/^[A-Za-z_]/.test(p) ? p : `_${p}`));
  // One sink for every stream, as a pass-through between a source and a destination is.
  const plan = join(dir, 'plan.yaml');
  const names = streams.map((s) => JSON.stringify(s.namespace ? { name: s.name, namespace: s.namespace } : s.name));
  writeFileSync(
    plan,
    `name: passthrough\nengine: { deadLetters: ${dir}/dead.jsonl }\nsources:\n  - { id: src, kind: airbyte_file, config: { path: ${JSON.stringify(messages)}, catalog: ${JSON.stringify(catalog)} } }\nsinks:\n  - id: out\n    kind: airbyte_destination\n    inputs: [${ports.map((p) => `src.${p}`).join(', ')}]\n    config: { streams: [${names.join(', ')}], path: ${dir}/out.jsonl }\n`,
  );
  const r = abflow(['run', plan, '-q']);
  expect(r.code, r.stderr).toBe(0);
  const rejected = deadPositions(`${dir}/dead.jsonl`);
  const input = linesOf(messages);
  const out = readFileSync(`${dir}/out.jsonl`, 'utf8').split('\n').filter(Boolean);
  const outRecords = new Set(out.filter((l) => l.includes('"RECORD"')));
  for (const l of input.filter((x) => x.msg?.type === 'RECORD' && !rejected.includes(x.n)))
    expect(outRecords.has(l.text), `line ${l.n} passes through byte for byte:\n${l.text}`).toBe(true);
  expect(outRecords.size).toBe(input.filter((x) => x.msg?.type === 'RECORD' && !rejected.includes(x.n)).length);
  // Every STATE, in order; byte-identical where no record of its interval was rejected (else sourceStats says how
  // many were delivered). Records, states and statuses in the input's order.
  const states = input.filter((l) => l.msg?.type === 'STATE').map((l) => l.text);
  const noStats = (l: string) => l.replace(/,"sourceStats":\{[^}]*\}/, '');
  const got = out.filter((l) => l.includes('"STATE"'));
  if (rejected.length) expect(got.map(noStats)).toEqual(states.map(noStats));
  else expect(got).toEqual(states);
  const sequence = input
    .filter((l) => !rejected.includes(l.n) && (l.msg?.type === 'RECORD' || l.msg?.type === 'STATE' || l.text.includes('STREAM_STATUS')))
    .map((l) => l.text);
  expect(out.map(noStats)).toEqual(sequence.map(noStats));
}

describe('Airbyte conformance', () => {
  const recordings = (() => {
    const dir = join(tempDir(), 'recordings');
    mkdirSync(dir);
    return writeRecordings(dir).map((r) => [r.name, r.messages, r.catalog] as [string, string, string]);
  })();
  for (const [name, messages, catalog] of [...recordings, ...(HAS_SHARED ? AIRBYTE_FIXTURES : [])]) {
    it(`${name}: A. typed catalog into DuckDB`, () => pathA(messages, catalog));
    it(`${name}: B. schemaless catalog into DuckDB`, () => pathB(messages, catalog));
    it(`${name}: C. airbyte_file → airbyte_destination, byte for byte`, () => pathC(messages, catalog));
  }
});
