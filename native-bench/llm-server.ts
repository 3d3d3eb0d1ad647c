/**
 * A local OpenAI-compatible chat-completions server for tests and the LLM benchmark: deterministic answers computed from each prompt,
 * injectable latency and faults (429 with Retry-After, 500, hung requests, malformed JSON, an outage window), and
 * a record of every request it received.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { pathToFileURL } from 'node:url';

export interface Faults {
  readonly rate429?: number;
  readonly rate500?: number;
  readonly rateTimeout?: number;
  readonly rateMalformed?: number;
}

export interface LlmServerOptions {
  /** The answer object for one record's prompt (the user message, or one `### Record i` section of it). */
  readonly answer: (prompt: string) => Record<string, unknown>;
  readonly faults?: Faults;
  readonly latencyMs?: number;
  /** Sent with 429s as `retry-after-ms`. */
  readonly retryAfterMs?: number;
  /** Answer the first request of every distinct prompt with a 429 (to check that clients wait for Retry-After). */
  readonly limitFirstAttempt?: boolean;
  readonly seed?: number;
  /** Default: any free port. */
  readonly port?: number;
}

export interface Received {
  readonly at: number;
  readonly system: string | undefined;
  readonly user: string;
  /** The records' prompts in this request (one, or the sections of a multi-record request). */
  readonly records: readonly string[];
  readonly outcome: 'ok' | '429' | '500' | 'timeout' | 'malformed';
}

export interface LlmServer {
  readonly url: string;
  readonly received: Received[];
  /** Until this wall-clock time every request gets a 500 (an outage). */
  outageUntil: number;
  close(): Promise<void>;
}

/** Splits a multi-record user message back into its records (the inverse of llm_enrich's batchMessage). */
export function recordsOf(user: string): string[] {
  if (!user.startsWith('Answer for each of the ')) return [user];
  return user.split(/\n\n### Record \d+\n/).slice(1);
}

export async function startLlmServer(o: LlmServerOptions): Promise<LlmServer> {
  let state = (o.seed ?? 1) >>> 0 || 1;
  const random = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const received: Received[] = [];
  const seen = new Set<string>();
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => void handle(req, res));
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const self: LlmServer = {
    url: '',
    received,
    outageUntil: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.url !== '/v1/chat/completions') return void res.writeHead(404).end();
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model: string; messages: { role: string; content: string }[] };
    const system = body.messages.find((m) => m.role === 'system')?.content;
    const user = body.messages.find((m) => m.role === 'user')!.content;
    const records = recordsOf(user);
    const f = o.faults ?? {};
    const x = random();
    const firstAttempt = o.limitFirstAttempt === true && !seen.has(user);
    seen.add(user);
    const outcome: Received['outcome'] =
      Date.now() < self.outageUntil
        ? '500'
        : firstAttempt
          ? '429'
          : x < (f.rate429 ?? 0)
            ? '429'
            : x < (f.rate429 ?? 0) + (f.rate500 ?? 0)
              ? '500'
              : x < (f.rate429 ?? 0) + (f.rate500 ?? 0) + (f.rateTimeout ?? 0)
                ? 'timeout'
                : x < (f.rate429 ?? 0) + (f.rate500 ?? 0) + (f.rateTimeout ?? 0) + (f.rateMalformed ?? 0)
                  ? 'malformed'
                  : 'ok';
    received.push({ at: Date.now(), system, user, records, outcome });
    if (outcome === 'timeout') return; // never answers; the client's attempt timeout must fire
    if (o.latencyMs) await new Promise((r) => setTimeout(r, o.latencyMs));
    const json = (status: number, v: unknown, headers: Record<string, string> = {}) =>
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(v));
    if (outcome === '429')
      return void json(
        429,
        { error: { message: 'Rate limit reached', type: 'rate_limit_error' } },
        { 'retry-after-ms': String(o.retryAfterMs ?? 50), 'retry-after': '1' },
      );
    if (outcome === '500') return void json(500, { error: { message: 'The server had an error', type: 'server_error' } });
    const answers = records.map((r) => o.answer(r));
    const content = outcome === 'malformed' ? '{"priority": "P1", "root_cause": ' : JSON.stringify(records.length === 1 ? answers[0] : { results: answers });
    json(200, {
      id: `chatcmpl-${received.length}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
      usage: {
        prompt_tokens: Math.ceil(user.length / 4),
        completion_tokens: Math.ceil(content.length / 4),
        total_tokens: Math.ceil((user.length + content.length) / 4),
      },
    });
  }

  await new Promise<void>((resolve) => server.listen(o.port ?? 0, '127.0.0.1', resolve));
  return Object.assign(self, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` });
}

/** The answer schema of the triage prompts (llm_enrich `output`), as plan YAML. */
export const TRIAGE_OUTPUT =
  '{ type: object, additionalProperties: false, required: [priority, root_cause, draft_reply], properties: { priority: { type: string, enum: [P0, P1, P2, P3] }, root_cause: { type: string }, draft_reply: { type: string } } }';

/** The deterministic triage answer the tests expect for a ticket prompt. */
export function triage(prompt: string): Record<string, unknown> {
  const p = /down|500|error|crash/i.test(prompt) ? 'P0' : /charged|refund|log in|IBAN/i.test(prompt) ? 'P1' : /slow|429/i.test(prompt) ? 'P2' : 'P3';
  const id = /Ticket (\d+)/.exec(prompt)?.[1] ?? '?';
  return { priority: p, root_cause: `cause of ticket ${id}`, draft_reply: `Thanks for reporting ticket ${id}.` };
}

/** `npm run llm:mock [-- --port N --latency MS]`: the server as a local stand-in for trying plans/tickets.yaml without a model. */
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string, fallback: number) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : fallback);
  const s = await startLlmServer({ answer: triage, latencyMs: arg('--latency', 20), port: arg('--port', 8089) });
  process.stderr.write(`OpenAI-compatible stand-in on ${s.url} (model answers are deterministic; Ctrl-C stops)\n`);
}
