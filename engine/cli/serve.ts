/**
 * @module cli/serve
 * `abflow serve`: the service (HTTP and gRPC APIs, metrics, dashboard) with its security policy: a token unless
 * explicitly insecure on loopback, and what submitted plans may touch (engine/policy.ts).
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { pino } from 'pino';
import { redactSecrets } from '../redact.js';
import { startGrpc } from '../service/grpc.js';
import { JobManager } from '../service/jobs.js';
import { startServer } from '../service/server.js';
import { pluginOption, stopTimeoutOption } from './shared.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('run as a service: jobs over an HTTP API, Prometheus /metrics; SIGTERM stops every job gracefully')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <port>', 'HTTP port', (v) => Number(v), 8080)
    .option('--grpc-port <port>', 'gRPC port (proto/abflow/v1/abflow.proto)', (v) => Number(v), 50051)
    .option('--plans <dir>', 'start every *.yaml plan in this folder')
    .option('--token-env <name>', 'environment variable holding the API bearer token', 'ABFLOW_API_TOKEN')
    .option('--token-file <file>', 'file holding the API bearer token (e.g. a mounted secret); wins over --token-env')
    .option('--tls-cert <file>', 'PEM certificate: serve HTTPS and gRPC over TLS (with --tls-key)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--log-level <level>', 'trace, debug, info, warn or error', 'info')
    .option('--insecure-no-auth', 'serve without a token: only on a loopback --host, for local development')
    .option('--data-dir <dir>', 'the folder submitted plans read and write in (relative paths only); the working directory by default')
    .option('--allow-command <path...>', 'executables submitted plans may run (Airbyte connectors), by absolute path; none by default')
    .option('--allow-plugins', 'let submitted plans load plugin modules (`plugins:`)')
    .addOption(stopTimeoutOption())
    .addOption(pluginOption())
    .action(
      async (opts: {
        host: string;
        port: number;
        grpcPort: number;
        plans?: string;
        tokenEnv: string;
        tokenFile?: string;
        tlsCert?: string;
        tlsKey?: string;
        logLevel: string;
        insecureNoAuth?: boolean;
        dataDir?: string;
        allowCommand?: string[];
        allowPlugins?: boolean;
        stopTimeout: number;
        plugin: string[];
      }) => {
        const log = pino({ level: opts.logLevel, base: { service: 'abflow' } }, pino.destination(2));
        const token = opts.tokenFile ? readFileSync(opts.tokenFile, 'utf8').trim() : process.env[opts.tokenEnv];
        // Whoever reaches the API can run plans: without a token only this machine may, and only when asked for.
        if (!token) {
          const loopback = ['127.0.0.1', '::1', 'localhost'].includes(opts.host) || opts.host.startsWith('127.');
          if (!loopback || !opts.insecureNoAuth) {
            process.stderr.write(
              `error: ${opts.tokenFile ?? opts.tokenEnv} holds no API token, so anyone who reaches ${opts.host} could run plans\n  hint: set ${opts.tokenFile ? 'the token file' : opts.tokenEnv} (e.g. $(openssl rand -hex 32)), or for local development bind a loopback --host and pass --insecure-no-auth\n`,
            );
            process.exit(2);
          }
          log.warn('--insecure-no-auth: the API accepts unauthenticated requests from this machine');
        }
        if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) throw new Error('--tls-cert and --tls-key go together');
        const tls = opts.tlsCert ? { cert: readFileSync(opts.tlsCert), key: readFileSync(opts.tlsKey!) } : undefined;
        // Plans submitted over the API touch only what is allowed here (engine/policy.ts); their relative paths resolve
        // in the data directory, the service's working directory from now on. The operator's --plans run unrestricted.
        const plansDir = opts.plans ? resolve(opts.plans) : undefined;
        const dataDir = resolve(opts.dataDir ?? '.');
        mkdirSync(dataDir, { recursive: true });
        process.chdir(dataDir);
        const policy = { dataDir, allowCommands: (opts.allowCommand ?? []).map((c) => resolve(c)), allowPlugins: opts.allowPlugins === true };
        const jobs = new JobManager({
          plugins: opts.plugin,
          stopTimeoutMs: opts.stopTimeout,
          onEvent: (event, j) => log.info({ job: j.name, id: j.id, state: j.state, ...(j.error ? { error: j.error } : {}) }, event),
        });
        const server = await startServer({ host: opts.host, port: opts.port, token, jobs, policy, log, tls });
        const grpcServer = await startGrpc({ host: opts.host, port: opts.grpcPort, token, jobs, policy, log, tls });
        log.info({ host: opts.host, port: (server.address() as { port: number }).port, grpcPort: grpcServer.port, tls: tls !== undefined }, 'listening');
        for (const f of plansDir
          ? readdirSync(plansDir)
              .filter((f) => /\.ya?ml$/.test(f))
              .sort()
          : []) {
          const file = join(plansDir!, f);
          await jobs.submit(readFileSync(file, 'utf8'), file).catch((e: Error) => log.error({ plan: file, err: redactSecrets(e.message) }, 'plan rejected'));
        }
        let stopping = false;
        const shutdown = async (signal: string) => {
          if (stopping) process.exit(130);
          stopping = true;
          log.info({ signal }, 'stopping: final checkpoints, draining jobs');
          await jobs.stopAll();
          await new Promise((r) => server.close(r));
          await new Promise((r) => grpcServer.server.tryShutdown(r));
          log.info('stopped');
          process.exit(0);
        };
        process.on('SIGTERM', () => void shutdown('SIGTERM'));
        process.on('SIGINT', () => void shutdown('SIGINT'));
      },
    );
}
