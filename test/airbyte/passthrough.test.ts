/**
 * `airbyte_destination` between a source and a destination: a real connector's recorded output (Faros' example
 * source, LEGACY state with gzip+base64 blobs and non-standard keys) passes through with every STATE byte-identical
 * and every record's data intact; where a plan drops records, the STATE's sourceStats say so.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { abflow, HAS_SHARED, ROOT, SHARED, tempDir } from '../kit/cli.js';

const FAROS = join(SHARED, 'fixtures/airbyte/real-connector-output/faros-example-source');
const CDK = join(SHARED, 'fixtures/airbyte/airbytehq-airbyte/airbyte-cdk/java/airbyte-cdk/db-destinations/src/testFixtures/resources/v0');
const STD = join(SHARED, 'fixtures/airbyte/airbytehq-airbyte/airbyte-integrations/bases/standard-destination-test/src/main/resources');

function run(dir: string, input: string, catalog: string, between = '', from = 'src.builds', stream = 'builds'): string[] {
  const file = join(dir, 'plan.yaml');
  writeFileSync(
    file,
    `name: passthrough
sources:
  - id: src
    kind: airbyte_file
    config: { path: ${input}, catalog: ${catalog} }
${between}
sinks:
  - id: out
    kind: airbyte_destination
    inputs: [${from}]
    config: { streams: [${stream}], path: ${dir}/out.jsonl }
`,
  );
  const r = abflow(['run', file, '-q']);
  expect(r.code, r.stderr).toBe(0);
  return readFileSync(join(dir, 'out.jsonl'), 'utf8').trim().split('\n');
}

describe.skipIf(!HAS_SHARED)('airbyte_destination', () => {
  for (const [name, catalog] of [
    ['read_inc.jsonl', 'incremental_configured_catalog.json'],
    ['read_full.jsonl', 'full_configured_catalog.json'],
  ]) {
    it(`passes Faros' ${name} through: STATE lines byte-identical, in order, records intact`, () => {
      const input = readFileSync(join(FAROS, name!), 'utf8').trim().split('\n');
      const out = run(tempDir(), join(FAROS, name!), join(FAROS, catalog!));
      const isState = (l: string) => (JSON.parse(l) as { type: string }).type === 'STATE';
      const isRecord = (l: string) => (JSON.parse(l) as { type: string }).type === 'RECORD';
      expect(out.filter(isState)).toEqual(input.filter(isState));
      const data = (l: string) => (JSON.parse(l) as { record: { stream: string; data: unknown; emitted_at: number } }).record;
      expect(out.filter(isRecord).map(data)).toEqual(input.filter(isRecord).map(data));
      // Order: the same sequence of records and states (logs are not forwarded).
      const shape = (lines: string[]) =>
        lines
          .filter((l) => isState(l) || isRecord(l))
          .map((l) => (isState(l) ? 'S' : 'R'))
          .join('');
      expect(shape(out)).toBe(shape(input));
    });
  }

  it('rewrites sourceStats where the plan filtered records, leaving the state blob as it was', () => {
    const filter = `operators:\n  - id: usd\n    kind: filter\n    inputs: [src.exchange_rate]\n    config: { where: "currency = 'USD'" }`;
    const out = run(tempDir(), `${CDK}/exchange_rate_messages.txt`, `${STD}/exchange_rate_catalog.json`, filter, 'usd', 'exchange_rate');
    const msgs = out.map((l) => JSON.parse(l) as { type: string; state?: { global: unknown; sourceStats?: unknown } });
    expect(msgs.map((m) => m.type).join(',')).toBe('RECORD,STATE,RECORD,STATE,STATE,TRACE');
    // Intervals: 1 record kept of 1, 1 of 1, then 0 of 3 (the EUR ones).
    expect(msgs[1]!.state!.sourceStats).toBeUndefined();
    expect(msgs[4]!.state!.sourceStats).toEqual({ recordCount: 0, rejectedRecordCount: 3 });
    expect(msgs[4]!.state!.global).toEqual({ shared_state: { start_date: '2020-09-02' } });
  });

  it('feeds a destination connector process: records and states arrive on its stdin, in order', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'dest.json'), JSON.stringify({ out: join(dir, 'received.jsonl') }));
    const file = join(dir, 'plan.yaml');
    writeFileSync(
      file,
      `name: to_connector
sources:
  - { id: src, kind: airbyte_file, config: { path: ${CDK}/exchange_rate_messages.txt, catalog: ${STD}/exchange_rate_catalog.json } }
sinks:
  - id: out
    kind: airbyte_destination
    inputs: [src.exchange_rate]
    config:
      streams: [exchange_rate]
      command: [${process.execPath}, ${join(ROOT, 'test/airbyte/fixtures/fake-destination.mjs')}]
      config: ${join(dir, 'dest.json')}
      catalog: ${STD}/exchange_rate_catalog.json
`,
    );
    const r = abflow(['run', file, '-q']);
    expect(r.code, r.stderr).toBe(0);
    const got = readFileSync(join(dir, 'received.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { type: string }).type);
    expect(got.join(',')).toBe('RECORD,STATE,RECORD,STATE,RECORD,RECORD,RECORD,STATE,TRACE');
  });
});
