/**
 * @module postgres
 * How abflow's PostgreSQL components connect (the cdc source, the sink, approval queues, lookups), and which failures
 * they retry. In engine/ beside duckdb.ts: shared infrastructure that operators and connectors reach through api.ts. The connection is a URL
 * in the plan, a URL in an environment variable (secrets stay out of plan files), or libpq's standard PG* environment variables.
 */
import type pg from 'pg';
import { z } from 'zod';
import { lazyRequire } from './lazy.js';
import { redactSecrets } from './redact.js';

export const pgLib = lazyRequire<typeof import('pg')>(import.meta.url, 'pg');

export const pgConnectionConfig = {
  url: z
    .string()
    .min(1)
    .optional()
    .describe('Connection URL, e.g. postgres://user@127.0.0.1:5432/db. Omit to use urlEnv or the standard PGHOST/PGUSER/PGPASSWORD/PGDATABASE variables.'),
  urlEnv: z.string().min(1).optional().describe('Name of an environment variable holding the connection URL (keeps passwords out of the plan).'),
};

export interface PgConnectionConfig {
  url?: string | undefined;
  urlEnv?: string | undefined;
}

export function pgClientConfig(cfg: PgConnectionConfig, applicationName: string): pg.ClientConfig {
  const url = cfg.urlEnv ? process.env[cfg.urlEnv] : cfg.url;
  if (cfg.urlEnv && !url) throw new Error(`environment variable ${cfg.urlEnv} (urlEnv) is not set`);
  return { ...(url ? { connectionString: url } : {}), application_name: applicationName };
}

/** A URL for messages: no password or other credential appears (redactSecrets). */
export function describePgTarget(cfg: PgConnectionConfig): string {
  const url = cfg.urlEnv ? process.env[cfg.urlEnv] : cfg.url;
  if (!url) return `${process.env.PGHOST ?? 'localhost'}/${process.env.PGDATABASE ?? process.env.PGUSER ?? ''}`;
  return redactSecrets(url);
}

const TRANSIENT_STATES = new Set(['40001', '40P01', '55P03', '57P01', '57P02', '57P03', '53300', '53400']);
const TRANSIENT_NODE = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EAI_AGAIN']);

/** Failures worth retrying: lost connections, serialization failures and deadlocks, a restarting server. */
export function isTransientPgError(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  if (typeof err?.code === 'string' && (err.code.startsWith('08') || TRANSIENT_STATES.has(err.code) || TRANSIENT_NODE.has(err.code))) return true;
  return /Connection terminated|connection timeout|Client has encountered a connection error/i.test(err?.message ?? '');
}

/** The server's message with its SQLSTATE and detail, for errors users read. */
export function describePgError(e: unknown): string {
  const err = e as { code?: string; message?: string; detail?: string; hint?: string };
  return [err.message ?? String(e), err.code ? `(SQLSTATE ${err.code})` : '', err.detail ? `detail: ${err.detail}` : '', err.hint ? `hint: ${err.hint}` : '']
    .filter(Boolean)
    .join(' ');
}

export interface PgRetryPolicy {
  readonly attempts: number;
  readonly baseMs: number;
}

/** Runs `f`, retrying transient failures with exponential backoff; a permanent failure (or the last) is thrown at once
 * with PostgreSQL's own explanation. */
export async function withPgRetry<T>(what: string, policy: PgRetryPolicy, f: (attempt: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await f(attempt);
    } catch (e) {
      if (!isTransientPgError(e) || attempt >= policy.attempts) {
        const note = isTransientPgError(e) ? ` (gave up after ${attempt} attempts)` : '';
        throw new Error(`${what}: ${describePgError(e)}${note}`, { cause: e });
      }
      const delay = policy.baseMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
      process.stderr.write(`warning: ${what}: ${describePgError(e)}; retrying in ${Math.round(delay)} ms (attempt ${attempt + 1} of ${policy.attempts})\n`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
