/**
 * `pii_mask`: finds personal data in string columns (pii.ts: emails, phone numbers, card numbers, IBANs, national
 * ids, IP addresses) and masks it, hashes it, or drops the value, before records reach an LLM, a log or a
 * warehouse. Hashes are HMAC-SHA256 with a secret salt from the environment: deterministic, so joins and counts
 * still work, but not reversible by hashing guesses without the salt.
 */
import { createHmac } from 'node:crypto';
import {
  AbflowError,
  atPath,
  columnData,
  columnTypeOf,
  defineOperator,
  Field,
  makeBatch,
  requireColumn,
  Schema,
  stringsOf,
  toArrowType,
  vecToData,
  z,
} from '../../engine/api.js';
import { DETECTORS, PII_KINDS, type PiiKind, scrub } from './pii.js';

const action = z.enum(['mask', 'hash', 'drop']);

const config = z
  .object({
    columns: z.array(z.string().min(1)).optional().describe('String columns to scan (default: every string column).'),
    detect: z
      .array(z.enum(PII_KINDS))
      .min(1)
      .default([...PII_KINDS])
      .describe(`Kinds to find: ${PII_KINDS.join(', ')}.`),
    action: action.default('mask').describe('mask: replace with [KIND]; hash: replace with [KIND:hmac]; drop: null the whole value.'),
    actions: z.partialRecord(z.enum(PII_KINDS), action).default({}).describe('Per-kind overrides of `action`.'),
    saltEnv: z.string().min(1).default('ABFLOW_PII_SALT').describe('Environment variable holding the hash salt (needed by `hash`).'),
    report: z.string().min(1).optional().describe('Adds this column: the kinds found in the row, as a JSON array.'),
  })
  .strict();

type Config = z.infer<typeof config>;

function targets(cfg: Config, input: Schema): number[] {
  if (!cfg.columns) return input.fields.flatMap((f, i) => (['string', 'json'].includes(columnTypeOf(f.type)) ? [i] : []));
  return cfg.columns.map((c, k) => {
    const i = atPath(['columns', k], () => requireColumn(input, c, []));
    if (!['string', 'json'].includes(columnTypeOf(input.fields[i]!.type)))
      throw new AbflowError('config', `\`${c}\` is not a string column`, { path: ['columns', k] });
    return i;
  });
}

function outputSchema(cfg: Config, input: Schema): Schema {
  if (!cfg.report) return input;
  if (input.fields.some((f) => f.name === cfg.report)) throw new AbflowError('config', `column \`${cfg.report}\` already exists`, { path: ['report'] });
  return new Schema([...input.fields, new Field(cfg.report, toArrowType('json'), true)]);
}

export const piiMask = defineOperator({
  kind: 'pii_mask',
  summary: 'Masks, hashes or drops emails, phone numbers, card numbers, IBANs, national ids and IPs in string columns.',
  config,
  execution: 'parallel',
  examples: [
    {
      title: 'Mask PII in ticket text before it reaches an LLM',
      yaml: 'id: masked\nkind: pii_mask\ninputs: [tickets]\nconfig:\n  columns: [subject, body]\n  report: pii_found',
    },
    {
      title: 'Pseudonymise emails, drop values with card numbers',
      yaml: 'id: pseudonymised\nkind: pii_mask\ninputs: [orders]\nconfig:\n  action: hash\n  actions: { card: drop }',
    },
  ],
  display: (cfg) => ({ detect: cfg.detect.join(', '), action: cfg.action, ...(cfg.columns ? { columns: cfg.columns.join(', ') } : {}) }),
  outputSchemas(cfg, [input]) {
    targets(cfg, input!);
    return { out: outputSchema(cfg, input!) };
  },
  create(cfg, ctx) {
    const input = ctx.inputs[0]!;
    const cols = targets(cfg, input);
    const schema = outputSchema(cfg, input);
    const actionOf = (k: PiiKind) => cfg.actions[k] ?? cfg.action;
    const salt = process.env[cfg.saltEnv];
    if (cfg.detect.some((k) => actionOf(k) === 'hash') && !salt)
      throw new AbflowError('config', `pii_mask: hashing needs a secret salt in the environment variable ${cfg.saltEnv}`, {
        hint: 'set it (e.g. `openssl rand -hex 32`) or use action: mask',
        nodeId: ctx.nodeId,
      });
    const replace = (kind: PiiKind, m: string) => {
      const label = kind.toUpperCase();
      return actionOf(kind) === 'hash'
        ? `[${label}:${createHmac('sha256', salt!).update(DETECTORS[kind].canonical(m)).digest('hex').slice(0, 16)}]`
        : `[${label}]`;
    };
    return {
      processBatch(batch, out) {
        const n = batch.numRows;
        const children = [...batch.data.children];
        const found: Set<PiiKind>[] = Array.from({ length: n }, () => new Set());
        for (const c of cols) {
          const values = stringsOf(columnData(batch, c));
          let changed = false;
          for (let i = 0; i < n; i++) {
            const v = values[i];
            if (v === null || v === undefined) continue;
            const r = scrub(v, cfg.detect, replace);
            if (!r.found.length) continue;
            for (const k of r.found) found[i]!.add(k);
            values[i] = r.found.some((k) => actionOf(k) === 'drop') ? null : r.text;
            changed = true;
          }
          if (changed) children[c] = vecToData({ kind: 'str', v: values }, columnTypeOf(input.fields[c]!.type), n);
        }
        if (cfg.report) children.push(vecToData({ kind: 'str', v: found.map((s) => JSON.stringify([...s])) }, 'json', n));
        out.emit(makeBatch(schema, children, n));
      },
    };
  },
});
