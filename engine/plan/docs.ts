/**
 * @module plan/docs
 * docs/operators.md from the registry: every component's summary, description, config fields (from its zod
 * schema: type, default, description) and examples — so the reference cannot drift from the code
 * (`abflow docs`, checked by a test).
 */
import type { AnySpec } from '../operator.js';
import type { Registry } from '../registry.js';
import { toJson } from './json-schema.js';

type Json = Record<string, unknown>;

function typeOf(j: Json): string {
  if (Array.isArray(j.enum)) return (j.enum as unknown[]).map((v) => JSON.stringify(v)).join(' | ');
  if (j.const !== undefined) return JSON.stringify(j.const);
  const alts = (j.anyOf ?? j.oneOf) as Json[] | undefined;
  if (alts) return alts.map(typeOf).join(' | ');
  if (j.type === 'array') return `${typeOf((j.items as Json) ?? {})}[]`;
  if (j.type === 'object')
    return j.additionalProperties && typeof j.additionalProperties === 'object' ? `map of ${typeOf(j.additionalProperties as Json)}` : 'object';
  return typeof j.type === 'string' ? j.type : Array.isArray(j.type) ? (j.type as string[]).join(' | ') : 'any';
}

const cell = (s: unknown) =>
  String(s ?? '')
    .replaceAll('|', '\\|')
    .replaceAll('\n', ' ');

function fields(spec: AnySpec): string {
  const j = toJson(spec.config);
  const props = (j.properties ?? (j.allOf as Json[] | undefined)?.[0]?.properties) as Record<string, Json> | undefined;
  if (!props || !Object.keys(props).length) return '_No configuration._\n';
  const required = new Set((j.required as string[] | undefined) ?? []);
  const rows = Object.entries(props).map(
    ([name, p]) =>
      `| \`${name}\`${required.has(name) && p.default === undefined ? ' (required)' : ''} | ${cell(typeOf(p))} | ${p.default === undefined ? '' : cell('`' + JSON.stringify(p.default) + '`')} | ${cell(p.description)} |`,
  );
  return ['| field | type | default | description |', '|---|---|---|---|', ...rows].join('\n') + '\n';
}

export function componentDocs(registry: Registry): string {
  const order = { source: 0, operator: 1, sink: 2 } as const;
  const specs = registry.list().sort((a, b) => order[a.role] - order[b.role] || a.kind.localeCompare(b.kind));
  const out = [
    '# Components',
    '',
    'Generated from the registry by `abflow docs` (`npm run docs`); do not edit by hand. Custom components written with `defineOperator`, `defineSource` or `defineSink` (see README, "Custom operators") are documented the same way with `abflow docs --plugin MODULE`.',
    '',
    ...specs.map((s) => `- [\`${s.kind}\`](#${s.kind}-${s.role}) (${s.role}): ${s.summary}`),
    '',
  ];
  for (const s of specs) {
    out.push(`## ${s.kind} (${s.role})`, '', s.summary, '');
    if (s.description) out.push(s.description, '');
    out.push(fields(s));
    for (const ex of s.examples) out.push(`**${ex.title}**`, '', '```yaml', ex.yaml, '```', '');
  }
  return out.join('\n');
}
