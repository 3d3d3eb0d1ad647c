/**
 * `http_writeback` sink: writes each row back to an operational system — a POST, PATCH or PUT to a URL templated
 * from the row (e.g. the AI fields of a ticket onto `/tickets/{{ticket_id}}`), with a templated JSON body, an
 * idempotency key, retries and a rate limit. Delivery semantics: delivery.ts.
 */
import { defineSink, z } from '../../engine/api.js';
import { deliveryConfig, HttpDelivery, redact, RequestTemplate } from './delivery.js';

const config = z
  .object({
    url: z.string().min(1).describe('URL template, e.g. https://helpdesk.example.com/api/tickets/{{ticket_id}}.'),
    method: z.enum(['POST', 'PATCH', 'PUT']).default('PATCH'),
    body: z.unknown().optional().describe('JSON body template (default: the row).'),
    ...deliveryConfig,
  })
  .strict();

export const httpWritebackSink = defineSink({
  kind: 'http_writeback',
  summary: 'PATCH/POST/PUT per row to a URL templated from the row: write AI fields or statuses back to the source system.',
  config,
  examples: [
    {
      title: 'Write the triage back onto the ticket',
      yaml: `id: writeback\nkind: http_writeback\ninputs: [triage]\nconfig:\n  url: https://helpdesk.example.com/api/tickets/{{ticket_id}}\n  method: PATCH\n  body: { priority: "{{priority}}", custom_fields: { root_cause: "{{root_cause}}" } }\n  headersFromEnv: { Authorization: HELPDESK_TOKEN }\n  rateLimit: { perSecond: 5 }`,
    },
  ],
  display: (cfg) => ({ url: redact(cfg.url.replace(/\{\{.*$/, '')), method: cfg.method }),
  check(cfg, [input]) {
    void new RequestTemplate(cfg.url, cfg.method, cfg.body, cfg, input!);
  },
  create(cfg, ctx) {
    const template = new RequestTemplate(cfg.url, cfg.method, cfg.body, cfg, ctx.inputs[0]!);
    template.checkEnv(ctx.nodeId);
    const delivery = new HttpDelivery(cfg, `http_writeback '${ctx.nodeId}'`, ctx.clock);
    return {
      write: (batch) => delivery.sendAll(template.requests(batch, ctx.nodeId)),
      async close() {},
    };
  },
});
