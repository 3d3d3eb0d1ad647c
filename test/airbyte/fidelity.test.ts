/**
 * Fidelity of the Airbyte paths, one test per class of loss (issue "fidelity"); the conformance suite runs the same
 * classes through every path. Each of these failed before the change it guards.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { abflow, abflowAsync, ROOT, tempDir } from '../kit/cli.js';
import { query } from '../kit/duckdb.js';
import { PG_URL } from '../kit/postgres.js';

const FAKE_SOURCE = join(ROOT, 'test/airbyte/fixtures/fake-source.mjs');

const rec = (stream: string, data: string, emittedAt = 1_700_000_000_000) =>
  `{"type":"RECORD","record":{"stream":"${stream}","data":${data},"emitted_at":${emittedAt}}}`;
const catalogOf = (dir: string, streams: Record<string, Record<string, unknown>>) => {
  const file = join(dir, 'catalog.json');
  writeFileSync(
    file,
    JSON.stringify({
      streams: Object.entries(streams).map(([name, properties]) => ({
        name,
        json_schema: { type: 'object', properties },
        supported_sync_modes: ['full_refresh'],
      })),
    }),
  );
  return file;
};

function write(dir: string, lines: string[], catalog: string, config: Record<string, unknown> = { destination_path: join(dir, 'out.duckdb') }) {
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return abflow(['airbyte', 'write', '--config', join(dir, 'config.json'), '--catalog', catalog], { input: lines.join('\n') + '\n' });
}

describe('timestamps (1)', () => {
  it('keeps years 1-99, nulls impossible dates with a NULLED change, in the jsonl source and in expressions alike', async () => {
    const dir = tempDir();
    const catalog = catalogOf(dir, { e: { at: { type: 'string', format: 'date-time' }, day: { type: 'string', format: 'date' } } });
    const r = write(
      dir,
      [
        rec('e', '{"at":"0001-01-01T00:00:00Z","day":"0050-06-15"}'),
        rec('e', '{"at":"2026-02-30T00:00:00Z","day":"2026-02-30"}'),
        rec('e', '{"at":"2023-06-22T10:11:12.1687451Z"}'),
      ],
      catalog,
    );
    expect(r.code, r.stderr).toBe(0);
    // Instants as epoch µs: DuckDB prints TIMESTAMPTZ in the session's zone.
    const rows = await query(
      join(dir, 'out.duckdb'),
      'SELECT epoch_us("at")::VARCHAR AS "at", "day"::VARCHAR AS "day", _airbyte_meta::VARCHAR AS meta FROM e ORDER BY rowid',
    );
    expect(rows[0]).toMatchObject({ at: '-62135596800000000', day: '0050-06-15' });
    expect(rows[1]).toMatchObject({ at: null, day: null });
    expect(rows[2]).toMatchObject({ at: String(Date.parse('2023-06-22T10:11:12.168Z') * 1000 + 745) }); // to the µs
    expect(JSON.parse(rows[1]!.meta as string).changes).toEqual([
      { field: 'at', change: 'NULLED', reason: 'DESTINATION_SERIALIZATION_ERROR' },
      { field: 'day', change: 'NULLED', reason: 'DESTINATION_SERIALIZATION_ERROR' },
    ]);

    const input = join(dir, 'in.jsonl');
    writeFileSync(
      input,
      '{"id":1,"at":"0001-01-01T00:00:00Z","s":"0050-06-15T00:00:00Z"}\n{"id":2,"at":"2026-02-30T00:00:00Z","s":null}\n{"id":3,"at":"2020-01-01T00:00:00Z","s":"2026-02-30"}\n',
    );
    const plan = join(dir, 'plan.yaml');
    writeFileSync(
      plan,
      `name: ts\nengine: { deadLetters: ${dir}/dead.jsonl }\nsources:\n  - { id: src, kind: jsonl, config: { path: ${input}, schema: { id: int64, at: timestamp, s: string } } }\noperators:\n  - { id: y, kind: derive, inputs: [src], config: { columns: { year: "extract('year', at)", y2: "extract('year', parse_timestamp(s))" } } }\nsinks:\n  - { id: out, kind: jsonl, inputs: [y], config: { path: ${dir}/out.jsonl } }\n`,
    );
    const j = abflow(['run', plan, '-q']);
    expect(j.code, j.stderr).toBe(0);
    const out = readFileSync(join(dir, 'out.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(out.map((o) => [o.id, o.year, o.y2])).toEqual([[1, 1, 50]]);
    const dead = readFileSync(join(dir, 'dead.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { position: number; reason: string });
    expect(dead.map((d) => d.position).sort()).toEqual([2, 3]);
    expect(dead.find((d) => d.position === 3)!.reason).toContain('2026-02-30');
  });
});

describe('pass-through (2)', () => {
  it('a plan that changes one field changes only that field: key order, nulls, number and timestamp text stay', () => {
    const dir = tempDir();
    const catalog = catalogOf(dir, {
      s: { id: { type: 'integer' }, amount: { type: 'number' }, at: { type: 'string', format: 'date-time' }, note: { type: ['null', 'string'] } },
    });
    const line = rec('s', '{"note":null,"at":"2023-06-22T10:11:12.1687451Z","amount":1.50,"id":7,"undeclared":{"x":[1,2]}}');
    const input = join(dir, 'in.jsonl');
    writeFileSync(input, `${line}\n{"type":"STATE","state":{"type":"LEGACY","data":{"n":1}}}\n`);
    const plan = join(dir, 'plan.yaml');
    writeFileSync(
      plan,
      `name: pt\nsources:\n  - { id: src, kind: airbyte_file, config: { path: ${input}, catalog: ${catalog} } }\noperators:\n  - { id: d, kind: derive, inputs: [src.s], config: { columns: { amount: "amount * 2", tag: "'new'" } } }\nsinks:\n  - { id: out, kind: airbyte_destination, inputs: [d], config: { streams: [s], path: ${dir}/out.jsonl } }\n  - { id: copy, kind: jsonl, inputs: [d], config: { path: ${dir}/copy.jsonl } }\n`,
    );
    const r = abflow(['run', plan, '-q']);
    expect(r.code, r.stderr).toBe(0);
    // The original text travels for airbyte_destination only: other sinks never see it.
    expect(Object.keys(JSON.parse(readFileSync(join(dir, 'copy.jsonl'), 'utf8')) as object)).toEqual([
      'id',
      'amount',
      'at',
      'note',
      '_airbyte_raw_id',
      '_airbyte_extracted_at',
      '_airbyte_meta',
      '_airbyte_generation_id',
      'tag',
    ]);
    const [record, state] = readFileSync(join(dir, 'out.jsonl'), 'utf8').trim().split('\n');
    expect(record).toBe(rec('s', '{"note":null,"at":"2023-06-22T10:11:12.1687451Z","amount":3,"id":7,"undeclared":{"x":[1,2]},"tag":"new"}'));
    expect(state).toBe('{"type":"STATE","state":{"type":"LEGACY","data":{"n":1}}}');

    // A repeated key is read as JSON.parse reads it (the last one wins) and passes through as it came.
    const twice = rec('s', '{"id":1,"id":2,"amount":1}');
    writeFileSync(input, `${twice}\n`);
    writeFileSync(
      plan,
      `name: pt2\nsources:\n  - { id: src, kind: airbyte_file, config: { path: ${input}, catalog: ${catalog} } }\nsinks:\n  - { id: out, kind: airbyte_destination, inputs: [src.s], config: { streams: [s], path: ${dir}/twice.jsonl } }\n`,
    );
    expect(abflow(['run', plan, '-q']).code).toBe(0);
    expect(readFileSync(join(dir, 'twice.jsonl'), 'utf8')).toBe(`${twice}\n`);
  });
});

describe('catalogs (6, 11)', () => {
  it('takes a minimal configured stream as schemaless, a CATALOG message as a catalog, and names the stream and field of an error', async () => {
    const dir = tempDir();
    const minimal = join(dir, 'minimal.json');
    writeFileSync(minimal, JSON.stringify({ streams: [{ stream: { name: 'x' }, destination_sync_mode: 'append' }] }));
    const r = write(dir, [rec('x', '{"b":1, "a":[true]}'), '{"type":"STATE","state":{"type":"LEGACY","data":{}}}'], minimal);
    expect(r.code, r.stderr).toBe(0);
    expect(await query(join(dir, 'out.duckdb'), 'SELECT _airbyte_data::VARCHAR AS d FROM x')).toEqual([{ d: '{"b":1, "a":[true]}' }]);

    const message = join(dir, 'message.json');
    writeFileSync(
      message,
      JSON.stringify({
        type: 'CATALOG',
        catalog: { streams: [{ name: 'y', json_schema: { properties: { n: { type: 'integer' } } }, supported_sync_modes: ['full_refresh'] }] },
      }),
    );
    const m = write(tempDir(), [rec('y', '{"n":5}')], message);
    expect(m.code, m.stderr).toBe(0);

    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ streams: [{ stream: { name: 'ok' } }, { stream: { name: 'orders' }, destination_sync_mode: 'upsert' }] }));
    const e = write(dir, [], bad);
    expect(e.code).toBe(1);
    expect(e.stderr).toContain('stream `orders` (streams.1): destination_sync_mode');
    expect(e.stderr).toMatch(/hint: a configured stream is/);
  });

  it('discover --configured: incremental with the source cursor and key where supported, else full refresh', () => {
    const dir = tempDir();
    const src = join(dir, 'src.mjs');
    const streams = [
      {
        name: 'inc',
        json_schema: {},
        supported_sync_modes: ['full_refresh', 'incremental'],
        default_cursor_field: ['updated_at'],
        source_defined_primary_key: [['id']],
      },
      { name: 'full', json_schema: {}, supported_sync_modes: ['full_refresh'] },
    ];
    writeFileSync(src, `process.stdout.write(JSON.stringify({type:'CATALOG',catalog:{streams:${JSON.stringify(streams)}}})+'\\n')`);
    writeFileSync(join(dir, 'c.json'), '{}');
    const r = abflow(['airbyte', 'source', 'discover', '--configured', '--command', `${process.execPath} ${src}`, '--config', join(dir, 'c.json')]);
    expect(r.code, r.stderr).toBe(0);
    const configured = JSON.parse(r.stdout) as { streams: Record<string, unknown>[] };
    expect(configured.streams.map(({ stream: _s, ...rest }) => rest)).toEqual([
      { sync_mode: 'incremental', cursor_field: ['updated_at'], destination_sync_mode: 'append_dedup', primary_key: [['id']] },
      { sync_mode: 'full_refresh', destination_sync_mode: 'overwrite' },
    ]);
  });
});

describe('a failing destination connector (7)', () => {
  for (const [how, script] of [
    ['dies at once (broken pipe)', `process.stderr.write('cannot reach warehouse\\n'); process.exit(3)`],
    [
      'reads, then reports a TRACE error and exits non-zero',
      `process.stdin.once('data', () => { process.stdout.write(JSON.stringify({type:'TRACE',trace:{type:'ERROR',emitted_at:1,error:{message:'quota exceeded'}}})+'\\n'); process.exit(1) })`,
    ],
    ['reads a little, then exits 0 with messages unread', `process.stdin.once('data', () => process.exit(0))`],
  ] as const) {
    it(`${how}: abflow exits 1 with the destination's own message`, () => {
      const dir = tempDir();
      const dest = join(dir, 'dest.mjs');
      writeFileSync(dest, script);
      const input = join(dir, 'in.jsonl');
      const big = `"${'x'.repeat(2000)}"`;
      writeFileSync(
        input,
        Array.from({ length: 3000 }, (_, i) => rec('s', `{"id":${i},"pad":${big}}`)).join('\n') + '\n{"type":"STATE","state":{"type":"LEGACY","data":{}}}\n',
      );
      const catalog = catalogOf(dir, { s: { id: { type: 'integer' }, pad: { type: 'string' } } });
      const plan = join(dir, 'plan.yaml');
      writeFileSync(
        plan,
        `name: dest_fails\nsources:\n  - { id: src, kind: airbyte_file, config: { path: ${input}, catalog: ${catalog} } }\nsinks:\n  - { id: out, kind: airbyte_destination, inputs: [src.s], config: { streams: [s], command: [${process.execPath}, ${dest}], config: {}, catalog: ${catalog} } }\n`,
      );
      const r = abflow(['run', plan, '-q']);
      expect(r.code).toBe(1);
      expect(r.stderr).not.toMatch(/Unhandled|EPIPE|please report this/);
      const why = { dies: /failed: it exited \(exit code 3\); stderr ends: cannot reach warehouse/, reads: /failed: quota exceeded \(exit code 1\)/ };
      expect(r.stderr).toMatch(
        how.startsWith('dies') ? why.dies : how.includes('TRACE') ? why.reads : /failed: it exited before reading every message \(exit code 0\)/,
      );
    });
  }
});

describe('incremental syncs (8, 11)', () => {
  function plan(dir: string, connector: string, command = `[${process.execPath}, ${FAKE_SOURCE}]`): string {
    const file = join(dir, 'plan.yaml');
    writeFileSync(
      file,
      `name: incremental\nengine: { checkpoint: { interval: 1h, path: ${dir}/state.duckdb } }\nsources:\n  - id: src\n    kind: airbyte_source\n    config: { command: ${command}, config: { ${connector} } }\nsinks:\n  - { id: out, kind: duckdb, inputs: [src.items], config: { path: ${dir}/out.duckdb, table: items, mode: append } }\n`,
    );
    return file;
  }
  const count = async (dir: string) => Number((await query(join(dir, 'out.duckdb'), 'SELECT count(*)::INT AS n FROM items'))[0]!.n);

  it("a second run gets the first run's final state and reads only newer records; --from-scratch reads all; a changed command keeps the state", async () => {
    const dir = tempDir();
    const first = abflow(['run', plan(dir, 'total: 50, every: 7')]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('starting after cursor 0');
    expect(await count(dir)).toBe(50);
    const shown = abflow(['checkpoints', 'show', plan(dir, 'total: 50, every: 7')]);
    expect(shown.stdout).toContain('"cursor\\":50');

    // The source has more now; the command changes (an image upgrade): the state belongs to the connection.
    const second = abflow(['run', plan(dir, 'total: 80, every: 7', `[${process.execPath}, --no-warnings, ${FAKE_SOURCE}]`)]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain('starting after cursor 50');
    expect(second.stderr).toMatch(/src continues from its last committed position/);
    const [r] = await query(join(dir, 'out.duckdb'), 'SELECT count(*)::INT AS n, count(DISTINCT id)::INT AS d FROM items');
    expect(r).toEqual({ n: 80, d: 80 });

    const scratch = abflow(['run', plan(dir, 'total: 80, every: 7'), '--from-scratch']);
    expect(scratch.code, scratch.stderr).toBe(0);
    expect(scratch.stderr).toContain('starting after cursor 0');
    expect(await count(dir)).toBe(160);
  });

  it("keeps connection state without engine.checkpoint, in the plan's default state store", async () => {
    const dir = tempDir();
    const file = join(dir, 'plan.yaml');
    writeFileSync(
      file,
      `name: nocp\nsources:\n  - { id: src, kind: airbyte_source, config: { command: [${process.execPath}, ${FAKE_SOURCE}], config: { total: 10, every: 3 } } }\nsinks:\n  - { id: out, kind: duckdb, inputs: [src.items], config: { path: ${dir}/out.duckdb, table: items, mode: append } }\n`,
    );
    expect(abflow(['run', file], { cwd: dir }).code).toBe(0);
    const again = abflow(['run', file], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('starting after cursor 10');
    expect(existsSync(join(dir, 'out/nocp.checkpoints.duckdb'))).toBe(true);
    expect(await count(dir)).toBe(10);
  });

  for (const [how, failure] of [
    ['a FAILED connection status', `{type:'CONNECTION_STATUS',connectionStatus:{status:'FAILED',message:'token expired'}}`],
    ['a STATE whose sourceStatus is ERRORED', `{type:'STATE',state:{type:'LEGACY',data:{n:2}},sourceStatus:{status:'ERRORED',message:'token expired'}}`],
    ['a TRACE error', `{type:'TRACE',trace:{type:'ERROR',emitted_at:1,error:{message:'token expired'}}}`],
  ] as const) {
    it(`a connector that reports ${how} and exits 0 fails the run, and nothing after it is committed`, async () => {
      const dir = tempDir();
      const src = join(dir, 'src.mjs');
      const emit = (m: string) => `process.stdout.write(JSON.stringify(${m})+'\\n');`;
      writeFileSync(
        src,
        `if (process.argv[2] === 'discover') { ${emit(`{type:'CATALOG',catalog:{streams:[{name:'items',json_schema:{properties:{id:{type:'integer'}}},supported_sync_modes:['full_refresh']}]}}`)} } else {
${emit(`{type:'RECORD',record:{stream:'items',data:{id:1},emitted_at:1}}`)}${emit(`{type:'STATE',state:{type:'LEGACY',data:{n:1}}}`)}
${emit(`{type:'RECORD',record:{stream:'items',data:{id:2},emitted_at:1}}`)}${emit(failure)}
${emit(`{type:'RECORD',record:{stream:'items',data:{id:3},emitted_at:1}}`)}${emit(`{type:'STATE',state:{type:'LEGACY',data:{n:3}}}`)} }`,
      );
      const r = abflow(['run', plan(dir, '', `[${process.execPath}, ${src}]`)], { cwd: dir });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('token expired');
      expect(r.stderr).not.toMatch(/done: \d+ rows/);
      const rows = existsSync(join(dir, 'out.duckdb')) ? await query(join(dir, 'out.duckdb'), 'SELECT id FROM items ORDER BY id') : [];
      expect(rows.length).toBeLessThanOrEqual(1); // at most the records before the last trusted STATE
    });
  }

  it('a SIGKILLed run leaves no connector config behind once the next run starts', async () => {
    const dir = tempDir();
    const file = plan(dir, 'total: 100000, every: 1000, delayMs: 1');
    const child = abflowAsync(['run', file], { cwd: dir });
    const leftovers = () => readdirSync(tmpdir()).filter((n) => n.startsWith(`abflow-airbyte-${child.pid}-`));
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (!leftovers().length) return;
        clearInterval(poll);
        resolve();
      }, 50);
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    expect(leftovers().length).toBe(1); // what a killed run cannot clean itself
    const next = abflow(['airbyte', 'source', 'spec', '--command', `${process.execPath} ${FAKE_SOURCE}`]);
    expect(next.code).toBe(0);
    // The fake source's config carries no secret, but the folder is where one would be: swept by the next start.
    const discover = abflow(['validate', file]);
    expect(discover.code, discover.stderr).toBe(0);
    expect(leftovers()).toEqual([]);
  });
});

describe('check (9)', () => {
  it('connects and probes write access, leaves nothing behind, and answers FAILED with the cause', () => {
    const dir = tempDir();
    const status = (cfg: Record<string, unknown>) => {
      writeFileSync(join(dir, 'c.json'), JSON.stringify(cfg));
      return JSON.parse(abflow(['airbyte', 'check', '--config', join(dir, 'c.json')]).stdout).connectionStatus as { status: string; message?: string };
    };
    expect(status({ warehouse: 'postgres', postgres_url: 'postgres://postgres@127.0.0.1:1/test' })).toMatchObject({
      status: 'FAILED',
      message: expect.stringMatching(/ECONNREFUSED/),
    });
    expect(status({ warehouse: 'postgres', postgres_url: PG_URL })).toEqual({ status: 'SUCCEEDED' });
    const nested = join(dir, 'not', 'yet', 'there.duckdb');
    expect(status({ destination_path: nested })).toEqual({ status: 'SUCCEEDED' });
    expect(existsSync(join(dir, 'not'))).toBe(false);
    expect(status({ destination_path: '/proc/abflow/x.duckdb' })).toMatchObject({
      status: 'FAILED',
      message: expect.stringContaining('cannot create /proc/abflow/x.duckdb'),
    });
    writeFileSync(join(dir, 'not-a-db.duckdb'), 'hello');
    expect(status({ destination_path: join(dir, 'not-a-db.duckdb') }).status).toBe('FAILED');
    expect(readdirSync(dir).filter((n) => n.startsWith('.abflow-check'))).toEqual([]);
  });
});

describe('STATE density (10)', () => {
  it('a STATE every record is committed in groups, and every STATE is echoed in order after its records', () => {
    const dir = tempDir();
    const catalog = catalogOf(dir, { s: { id: { type: 'integer' } } });
    const lines: string[] = [];
    for (let i = 1; i <= 300; i++)
      lines.push(rec('s', `{"id":${i}}`), `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"s"},"stream_state":{"c":${i}}}}}`);
    const r = write(dir, lines, catalog);
    expect(r.code, r.stderr).toBe(0);
    const states = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { state: { stream: { stream_state: { c: number } }; destinationStats: unknown } });
    expect(states.map((s) => s.state.stream.stream_state.c)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(states.every((s) => JSON.stringify(s.state.destinationStats) === '{"recordCount":1}')).toBe(true);

    // As a plan: 300 STATEs, one commit (nothing reaches commitRecords or commitInterval before the end).
    const input = join(dir, 'in.jsonl');
    writeFileSync(input, lines.join('\n') + '\n');
    const plan = join(dir, 'plan.yaml');
    writeFileSync(
      plan,
      `name: dense\nsources:\n  - { id: src, kind: airbyte_file, config: { path: ${input}, catalog: ${catalog}, commitInterval: 1h } }\nsinks:\n  - { id: out, kind: duckdb, inputs: [src.s], config: { path: ${dir}/dense.duckdb, table: s } }\n`,
    );
    const run = abflow(['run', plan]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('checkpoints: 1 taken');
  });
});
