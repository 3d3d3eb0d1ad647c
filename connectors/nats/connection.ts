/** NATS connection settings shared by the `nats` source and sink. */
import type { NatsConnection } from '@nats-io/transport-node';
import { AbflowError, lazyRequire, z } from '../../engine/api.js';

const transport = lazyRequire<typeof import('@nats-io/transport-node')>(import.meta.url, '@nats-io/transport-node');
export const jetstreamLib = lazyRequire<typeof import('@nats-io/jetstream')>(import.meta.url, '@nats-io/jetstream');

export const connectionConfig = {
  servers: z.string().default('nats://127.0.0.1:4222').describe('Comma-separated server URLs.'),
  credentialsEnv: z.string().optional().describe('Environment variable holding a user JWT credentials file’s contents (.creds).'),
  tokenEnv: z.string().optional().describe('Environment variable holding an auth token.'),
};

export interface ConnectionConfig {
  servers: string;
  credentialsEnv?: string | undefined;
  tokenEnv?: string | undefined;
}

export async function natsConnect(cfg: ConnectionConfig, nodeId: string): Promise<NatsConnection> {
  const env = (name: string | undefined) => {
    if (!name) return undefined;
    const v = process.env[name];
    if (v === undefined) throw new AbflowError('config', `'${nodeId}': environment variable ${name} is not set`, { nodeId });
    return v;
  };
  const token = env(cfg.tokenEnv);
  const creds = env(cfg.credentialsEnv);
  try {
    return await transport().connect({
      servers: cfg.servers.split(',').map((s) => s.trim()),
      name: `abflow ${nodeId}`,
      maxReconnectAttempts: -1,
      ...(token ? { token } : {}),
      ...(creds ? { authenticator: transport().credsAuthenticator(new TextEncoder().encode(creds)) } : {}),
    });
  } catch (e) {
    throw new AbflowError('source_io', `'${nodeId}': cannot connect to NATS at ${cfg.servers}: ${(e as Error).message}`, {
      domain: 'external',
      nodeId,
      cause: e,
    });
  }
}
