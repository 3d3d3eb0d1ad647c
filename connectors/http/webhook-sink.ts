/**
 * `webhook` sink: one HTTP POST per row (an alert, an event notification), with a templated JSON body or the
 * Slack-compatible preset, an idempotency key header, retries, a rate limit, and a suppression window so that one
 * incident is one alert: rows whose `suppress.key` was alerted within `suppress.window` are counted, not sent.
 * Delivery semantics: delivery.ts. The URL usually holds a secret (Slack), so `urlEnv` reads it from the environment.
 */
import { AbflowError, compileTemplate, defineSink, duration, render, rowObject, z } from '../../engine/api.js';
import { deliveryConfig, HttpDelivery, RequestTemplate } from './delivery.js';

const config = z
  .object({
    url: z.string().url().optional().describe('Endpoint (use urlEnv for secret URLs such as Slack webhooks).'),
    urlEnv: z.string().optional().describe('Environment variable holding the endpoint.'),
    preset: z.enum(['json', 'slack']).default('json').describe('json: `body` (default: the row); slack: {"text": `text`}.'),
    body: z.unknown().optional().describe('JSON body template: strings are templates, a bare "{{column}}" keeps the value’s type.'),
    text: z.string().optional().describe('Message template for the Slack preset.'),
    suppress: z
      .object({ key: z.string().min(1), window: duration() })
      .strict()
      .optional()
      .describe('One alert per key (template) per window.'),
    ...deliveryConfig,
  })
  .strict()
  .refine((c) => (c.url === undefined) !== (c.urlEnv === undefined), { message: 'give exactly one of `url` and `urlEnv`', path: ['url'] })
  .refine((c) => c.preset !== 'slack' || c.text !== undefined, { message: 'the slack preset needs `text`', path: ['text'] });

export const webhookSink = defineSink({
  kind: 'webhook',
  summary: 'POSTs each row as an alert or notification: templated JSON or Slack, idempotency keys, retries, rate limit, suppression window.',
  config,
  examples: [
    {
      title: 'Slack alert per anomalous payment, one per merchant per 10 minutes',
      yaml: `id: slack_alerts\nkind: webhook\ninputs: [alerts]\nconfig:\n  urlEnv: SLACK_WEBHOOK_URL\n  preset: slack\n  text: "Anomalous payment {{payment_id}} at {{merchant_id}}: {{amount_usd}} USD (score {{anomaly_score}})"\n  suppress: { key: "{{merchant_id}}", window: 10m }\n  rateLimit: { perSecond: 1 }`,
    },
    {
      title: 'Generic JSON webhook',
      yaml: `id: incidents\nkind: webhook\ninputs: [failures]\nconfig:\n  url: https://ops.example.com/hooks/incidents\n  body: { source: abflow, merchant: "{{merchant_id}}", failed: "{{tx_count}}" }\n  headersFromEnv: { Authorization: OPS_HOOK_TOKEN }`,
    },
  ],
  display: (cfg) => ({
    url: cfg.url ? new URL(cfg.url).host : `$${cfg.urlEnv}`,
    preset: cfg.preset,
    ...(cfg.suppress ? { suppress: `${cfg.suppress.window} ms` } : {}),
  }),
  check(cfg, [input]) {
    if (cfg.text) compileTemplate(cfg.text, input!, ['text']);
    if (cfg.suppress) compileTemplate(cfg.suppress.key, input!, ['suppress', 'key']);
    void new RequestTemplate('x', 'POST', cfg.body, cfg, input!);
  },
  create(cfg, ctx) {
    const input = ctx.inputs[0]!;
    const url = cfg.url ?? process.env[cfg.urlEnv!];
    if (!url) throw new AbflowError('config', `webhook '${ctx.nodeId}': environment variable ${cfg.urlEnv} is not set`, { nodeId: ctx.nodeId });
    const body = cfg.preset === 'slack' ? { text: cfg.text } : cfg.body;
    const template = new RequestTemplate(url, 'POST', body, cfg, input);
    template.checkEnv(ctx.nodeId);
    const suppressKey = cfg.suppress ? compileTemplate(cfg.suppress.key, input, ['suppress', 'key']) : undefined;
    const lastAlert = new Map<string, number>();
    const delivery = new HttpDelivery(cfg, `webhook '${ctx.nodeId}'`, ctx.clock);
    return {
      async write(batch) {
        const now = ctx.clock.now();
        const reqs = [];
        for (let i = 0; i < batch.numRows; i++) {
          const row = rowObject(batch, i);
          if (suppressKey) {
            const k = render(suppressKey, row);
            const at = lastAlert.get(k);
            if (at !== undefined && now - at < cfg.suppress!.window) continue;
            lastAlert.set(k, now);
          }
          reqs.push(template.request(row, ctx.nodeId));
        }
        await delivery.sendAll(reqs);
      },
      async close() {},
    };
  },
});
