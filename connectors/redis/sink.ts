/**
 * `redis` sink: a feature store. Each row is the latest features of an entity (a customer, a merchant): the columns
 * go into the hash at `key` (templated from the row) with HSET, nulls remove their field, and the hash expires
 * `ttl` after its last update. With `version` (e.g. `window_end`), a row only replaces a hash holding an older or
 * equal version — checked and written atomically in one Lua script — so late window firings and replays after
 * recovery never move a feature back in time, and rewriting a row is harmless (idempotent).
 * Rows are written in pipelines of a batch each, on write (at least once; idempotent as above).
 */
import type { Redis } from 'ioredis';
import {
  AbflowError,
  atPath,
  columnTypeOf,
  compileTemplate,
  defineSink,
  duration,
  lazyRequire,
  render,
  requireColumn,
  rowObject,
  z,
} from '../../engine/api.js';

const ioredis = lazyRequire<typeof import('ioredis')>(import.meta.url, 'ioredis');

const config = z
  .object({
    url: z.string().optional().describe('redis://[user:password@]host:port/db (default redis://127.0.0.1:6379).'),
    urlEnv: z.string().optional().describe('Environment variable holding the URL (when it carries a password).'),
    key: z.string().min(1).describe('Hash key template, e.g. "features:customer:{{customer_id}}".'),
    fields: z.array(z.string().min(1)).optional().describe('Columns stored as hash fields (default: all but those in the key).'),
    version: z.string().optional().describe('Column ordering updates (e.g. window_end): an older row never overwrites a newer one.'),
    ttl: duration().optional().describe('Expire the hash this long after its last update.'),
  })
  .strict();

/** KEYS[1] hash; ARGV: version ('' for none), ttl ms (0: none), n (fields to set), n field/value pairs, fields to delete. */
const UPSERT = `
local version = ARGV[1]
if version ~= '' then
  local current = redis.call('HGET', KEYS[1], '_version')
  if current and tonumber(current) > tonumber(version) then return 0 end
end
local n = tonumber(ARGV[3])
if n > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, 4, 3 + 2 * n)) end
if version ~= '' then redis.call('HSET', KEYS[1], '_version', version) end
if #ARGV > 3 + 2 * n then redis.call('HDEL', KEYS[1], unpack(ARGV, 4 + 2 * n)) end
local ttl = tonumber(ARGV[2])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1`;

type UpsertRedis = Redis & { upsertFeatures(key: string, ...args: string[]): Promise<number> };

const asText = (v: unknown) => (typeof v === 'object' ? JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)) : String(v));

export const redisSink = defineSink({
  kind: 'redis',
  summary: 'Feature store: the latest row per entity as a Redis hash (HSET with TTL), never overwritten by an older version.',
  config,
  examples: [
    {
      title: 'Latest 5-minute features per customer, kept for a day',
      yaml: 'id: online_features\nkind: redis\ninputs: [customer_5m]\nconfig:\n  key: "features:customer:{{customer_id}}"\n  fields: [tx_count_5m, amount_usd_5m, window_end]\n  version: window_end\n  ttl: 24h',
    },
  ],
  display: (cfg) => ({ key: cfg.key, ...(cfg.version ? { version: cfg.version } : {}), ...(cfg.ttl ? { ttl: `${cfg.ttl} ms` } : {}) }),
  check(cfg, [input]) {
    compileTemplate(cfg.key, input!, ['key']);
    cfg.fields?.forEach((f, i) => atPath(['fields', i], () => requireColumn(input!, f, [])));
    if (cfg.version) {
      const i = atPath(['version'], () => requireColumn(input!, cfg.version!, []));
      const t = columnTypeOf(input!.fields[i]!.type);
      if (!['int32', 'int64', 'float64', 'timestamp', 'date'].includes(t))
        throw new AbflowError('config', `\`${cfg.version}\` is ${t}; a version must be a number or a time`, { path: ['version'] });
    }
  },
  create(cfg, ctx) {
    const input = ctx.inputs[0]!;
    const key = compileTemplate(cfg.key, input, ['key']);
    const fields = cfg.fields ?? input.fields.map((f) => f.name).filter((f) => !key.fields.includes(f));
    const url = cfg.urlEnv ? process.env[cfg.urlEnv] : (cfg.url ?? 'redis://127.0.0.1:6379');
    if (!url) throw new AbflowError('config', `redis '${ctx.nodeId}': environment variable ${cfg.urlEnv} is not set`, { nodeId: ctx.nodeId });
    let client: UpsertRedis | undefined;
    const fail = (e: unknown) =>
      new AbflowError('sink_io', `redis '${ctx.nodeId}': ${(e as Error).message}`, { domain: 'external', cause: e, nodeId: ctx.nodeId });
    return {
      async open() {
        // Retries with backoff while the server is briefly away; a request still failing fails the job.
        client = new (ioredis().Redis)(url, { lazyConnect: true, maxRetriesPerRequest: 5, enableOfflineQueue: true }) as UpsertRedis;
        client.defineCommand('upsertFeatures', { numberOfKeys: 1, lua: UPSERT });
        await client.connect().catch((e: unknown) => {
          throw fail(e);
        });
      },
      async write(batch) {
        const pipeline = client!.pipeline();
        for (let i = 0; i < batch.numRows; i++) {
          const row = rowObject(batch, i);
          const set: string[] = [];
          const del: string[] = [];
          for (const f of fields) {
            const v = row[f];
            if (v === null || v === undefined) del.push(f);
            else set.push(f, asText(v));
          }
          const version = cfg.version ? row[cfg.version] : null;
          const v =
            version === null || version === undefined
              ? ''
              : typeof version === 'string' && Number.isNaN(Number(version))
                ? String(Date.parse(version))
                : String(version);
          (pipeline as unknown as UpsertRedis).upsertFeatures(render(key, row), v, String(cfg.ttl ?? 0), String(set.length / 2), ...set, ...del);
        }
        const results = await pipeline.exec().catch((e: unknown) => {
          throw fail(e);
        });
        const error = results?.find(([e]) => e)?.[0];
        if (error) throw fail(error);
      },
      async close() {
        await client?.quit();
      },
      async abort() {
        client?.disconnect();
      },
    };
  },
});
